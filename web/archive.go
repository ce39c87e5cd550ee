package web

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"html/template"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/tidings/tidings"
)

// sent are the list's sent issues, newest first. Only sent issues are
// public: a draft's number must not even be guessable into a page.
func (s *Server) sent(r *http.Request, list *tidings.List) ([]tidings.Issue, error) {
	all, err := s.cfg.Issues.List(r.Context(), list.ID)
	if err != nil {
		return nil, fmt.Errorf("archive %s: %w", list.Slug, err)
	}
	out := all[:0:0]
	for _, is := range all {
		if is.Status == tidings.IssueSent && is.ListID == list.ID {
			out = append(out, is)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Number > out[j].Number })
	return out, nil
}

// listAndSent resolves {list} and its sent issues; on failure it has
// answered.
func (s *Server) listAndSent(w http.ResponseWriter, r *http.Request) (*tidings.List, []tidings.Issue, bool) {
	list, ok := s.list(w, r)
	if !ok {
		return nil, nil, false
	}
	issues, err := s.sent(r, list)
	if err != nil {
		s.serverError(w, r, list, err)
		return nil, nil, false
	}
	return list, issues, true
}

// issueDate is the date shown for an issue: the editor's, else the send day.
func issueDate(list *tidings.List, is tidings.Issue) (shown, iso string) {
	if is.Date != "" {
		if t, err := time.Parse("2006-01-02", is.Date); err == nil {
			return is.Date, t.Format("2006-01-02")
		}
		return is.Date, ""
	}
	if !is.SentAt.IsZero() {
		d := is.SentAt.In(list.Location()).Format("2006-01-02")
		return d, d
	}
	return "", ""
}

func (s *Server) handleArchive(w http.ResponseWriter, r *http.Request) {
	list, issues, ok := s.listAndSent(w, r)
	if !ok {
		return
	}
	p := s.newPage(list, "arch.title", list.Name)
	p.NoIndex = false
	for _, is := range issues {
		shown, iso := issueDate(list, is)
		p.Issues = append(p.Issues, issueRow{
			No:    fmt.Sprintf(p.T["arch.no"], is.Number),
			Title: is.Title,
			URL:   s.local(s.cfg.Links.Issue(list.Slug, is.Number)),
			Date:  shown,
			ISO:   iso,
		})
	}
	s.render(w, r, http.StatusOK, "archive", p)
}

func (s *Server) handleIssue(w http.ResponseWriter, r *http.Request) {
	list, ok := s.list(w, r)
	if !ok {
		return
	}
	n, err := strconv.Atoi(r.PathValue("number"))
	if err != nil || n <= 0 {
		s.message(w, r, list, http.StatusNotFound, "notfound.title", "notfound.text", s.local(s.cfg.Links.Archive(list.Slug)), "archive")
		return
	}
	issues, err := s.sent(r, list)
	if err != nil {
		s.serverError(w, r, list, err)
		return
	}
	var found *tidings.Issue
	for i := range issues {
		if issues[i].Number == n {
			found = &issues[i]
			break
		}
	}
	if found == nil {
		s.message(w, r, list, http.StatusNotFound, "notfound.title", "notfound.text", s.local(s.cfg.Links.Archive(list.Slug)), "archive")
		return
	}
	body, err := s.issueHTML(r, list, found.ID)
	if err != nil {
		s.serverError(w, r, list, err)
		return
	}
	p := s.newPage(list, "")
	p.NoIndex = false
	p.Title = found.Title
	p.Body = body
	s.render(w, r, http.StatusOK, "issue", p)
}

// issueCache keeps rendered issues for a while: a sent issue does not
// change, and rendering a long one costs milliseconds (the feed renders up
// to feedEntries of them). Entries expire so that an edited template or a
// renamed topic shows within issueTTL.
type issueCache struct {
	mu sync.Mutex
	m  map[issueKey]cachedIssue
}

type issueKey struct {
	id  int64
	dir string // the list's template directory
}

type cachedIssue struct {
	html template.HTML
	at   time.Time
}

const (
	issueTTL       = 10 * time.Minute
	issueCacheSize = 64
)

func (c *issueCache) get(k issueKey, now time.Time) (template.HTML, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || now.Sub(e.at) >= issueTTL || now.Before(e.at) {
		return "", false
	}
	return e.html, true
}

func (c *issueCache) put(k issueKey, h template.HTML, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[issueKey]cachedIssue{}
	}
	if len(c.m) >= issueCacheSize {
		for old := range c.m { // any one: the cache only saves work
			delete(c.m, old)
			break
		}
	}
	c.m[k] = cachedIssue{h, now}
}

// issueHTML is the whole issue (every topic), as the renderer lays it out.
func (s *Server) issueHTML(r *http.Request, list *tidings.List, id int64) (template.HTML, error) {
	key := issueKey{id, list.TemplateDir}
	now := s.cfg.Now()
	if h, ok := s.issues.get(key, now); ok {
		return h, nil
	}
	full, err := s.cfg.Issues.Get(r.Context(), id)
	if err != nil {
		return "", fmt.Errorf("issue #%d: %w", id, err)
	}
	topics, err := s.cfg.Subscribers.PublicTopics(r.Context(), list.ID)
	if err != nil {
		return "", err
	}
	body, err := s.cfg.Renderer.WebIssue(list, topics, full)
	if err != nil {
		return "", fmt.Errorf("render issue #%d: %w", id, err)
	}
	s.issues.put(key, body, now)
	return body, nil
}

// ---- Atom (RFC 4287) ----

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomText struct {
	Type string `xml:"type,attr,omitempty"`
	Body string `xml:",chardata"`
}

type atomEntry struct {
	Title     string      `xml:"title"`
	ID        string      `xml:"id"`
	Link      atomLink    `xml:"link"`
	Updated   string      `xml:"updated"`
	Published string      `xml:"published,omitempty"`
	Summary   *atomText   `xml:"summary,omitempty"`
	Content   *atomText   `xml:"content,omitempty"`
	Author    *atomPerson `xml:"author,omitempty"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Lang    string      `xml:"xml:lang,attr"`
	Title   string      `xml:"title"`
	ID      string      `xml:"id"`
	Updated string      `xml:"updated"`
	Links   []atomLink  `xml:"link"`
	Author  atomPerson  `xml:"author"`
	Entries []atomEntry `xml:"entry"`
}

// feedEntries bounds the feed: readers fetch it often.
const feedEntries = 20

func (s *Server) handleFeed(w http.ResponseWriter, r *http.Request) {
	list, issues, ok := s.listAndSent(w, r)
	if !ok {
		return
	}
	links := s.cfg.Links
	f := atomFeed{
		Lang:   list.Lang.Tag(),
		Title:  list.Name,
		ID:     links.Feed(list.Slug),
		Author: atomPerson{Name: list.Name},
		Links: []atomLink{
			{Rel: "self", Type: "application/atom+xml", Href: links.Feed(list.Slug)},
			{Rel: "alternate", Type: "text/html", Href: links.Archive(list.Slug)},
		},
		Updated: list.CreatedAt.UTC().Format(time.RFC3339),
	}
	for i, is := range issues {
		if i == feedEntries {
			break
		}
		when := is.SentAt
		if when.IsZero() {
			when = is.CreatedAt
		}
		stamp := when.UTC().Format(time.RFC3339)
		if i == 0 {
			f.Updated = stamp
		}
		e := atomEntry{
			Title:     is.Title,
			ID:        links.Issue(list.Slug, is.Number),
			Link:      atomLink{Rel: "alternate", Type: "text/html", Href: links.Issue(list.Slug, is.Number)},
			Updated:   stamp,
			Published: stamp,
		}
		if is.Preheader != "" {
			e.Summary = &atomText{Type: "text", Body: is.Preheader}
		}
		body, err := s.issueHTML(r, list, is.ID)
		if err != nil {
			s.serverError(w, r, list, err)
			return
		}
		e.Content = &atomText{Type: "html", Body: string(body)}
		f.Entries = append(f.Entries, e)
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(f); err != nil {
		s.serverError(w, r, list, err)
		return
	}
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(b.Bytes())
}
