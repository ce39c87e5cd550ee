// pages.go holds what every reader page shares: the templates, the page
// data, rendering and error pages, and the lookups of the list and the
// link's token behind a request.

package web

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/subscribers"
	"github.com/tidings/tidings/templates"
	"github.com/tidings/tidings/token"
)

// pageFiles are the pages under templates/web, each rendered inside
// layout.html.
var pageFiles = []string{"subscribe", "sent", "confirmed", "message", "preferences", "unsubscribe", "unsubscribed", "archive", "issue"}

var funcs = template.FuncMap{
	// t looks up a text and formats it; a missing key is an error, so a
	// typo fails the page (and the tests) instead of printing nothing.
	"t": func(m map[string]string, key string, args ...any) (string, error) {
		s, ok := m[key]
		if !ok {
			return "", fmt.Errorf("no text %q", key)
		}
		if len(args) > 0 {
			return fmt.Sprintf(s, args...), nil
		}
		return s, nil
	},
}

func parsePages(fsys fs.FS) (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for _, name := range pageFiles {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(fsys, "web/layout.html", "web/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: templates: %w", err)
		}
		out[name] = t
	}
	return out, nil
}

type navLinks struct{ Subscribe, Archive, Feed string }

type topicBox struct {
	Slug, Name string
	Checked    bool
}

type issueRow struct {
	No, Title, URL, Date, ISO string
}

// pageData is what every page template sees; each page uses its part.
type pageData struct {
	Lang    string
	T       map[string]string
	List    *tidings.List
	Title   string
	CSS     string
	Nav     navLinks
	NoIndex bool
	CSRF    string

	Email, Name string
	Topics      []topicBox
	Error       string
	Field       string // the field Error is about ("" = the whole form): shown next to it
	Notice      string

	Heading, Text, LinkURL, LinkText string

	Status      string
	StatusKey   tidings.Status
	AllTopics   bool
	ChosenNames []string
	PrefsURL    string

	Issues []issueRow
	Body   template.HTML
}

// newPage fills the parts every page has; list may be nil (unknown list).
func (s *Server) newPage(list *tidings.List, titleKey string, args ...any) *pageData {
	p := &pageData{Lang: "en", T: textsFor(tidings.LangEN), CSS: s.prefix + "/static/style.css", NoIndex: true}
	if list != nil {
		p.List = list
		p.Lang = list.Lang.Tag()
		p.T = textsFor(list.Lang)
		p.Nav = navLinks{
			Subscribe: s.local(s.cfg.Links.Subscribe(list.Slug)),
			Archive:   s.local(s.cfg.Links.Archive(list.Slug)),
			Feed:      s.local(s.cfg.Links.Feed(list.Slug)),
		}
	}
	if titleKey != "" {
		if f, ok := p.T[titleKey]; ok {
			p.Title = f
			if len(args) > 0 {
				p.Title = fmt.Sprintf(f, args...)
			}
		}
	}
	return p
}

// pagesFor are the page templates of a list: the built-in ones, or, when
// the list has a template directory, its files layered over them (parsed
// once per directory; a broken override falls back to the built-ins).
func (s *Server) pagesFor(list *tidings.List) map[string]*template.Template {
	if list == nil || list.TemplateDir == "" {
		return s.pages
	}
	s.overMu.Lock()
	defer s.overMu.Unlock()
	if p, ok := s.overlays[list.TemplateDir]; ok {
		return p
	}
	p, err := parsePages(templates.Overlay(list.TemplateDir))
	if err != nil {
		s.log.Error("list templates", "list", list.Slug, "dir", list.TemplateDir, "err", err)
		p = s.pages
	}
	s.overlays[list.TemplateDir] = p
	return p
}

// render executes a page into a buffer first, so a template error becomes a
// clean 500 rather than half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p *pageData) {
	var b bytes.Buffer
	if err := s.pagesFor(p.List)[name].Execute(&b, p); err != nil {
		s.log.Error("render page", "page", name, "path", r.URL.Path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	if p.NoIndex || p.CSRF != "" {
		// Pages with tokens, personal data or a CSRF field bound to this
		// browser's cookie must not sit in shared caches.
		h.Set("Cache-Control", "no-store")
	}
	if p.List != nil {
		h.Set("Content-Language", p.Lang)
	}
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// message renders the generic one-message page.
func (s *Server) message(w http.ResponseWriter, r *http.Request, list *tidings.List, status int, titleKey, textKey, linkURL, linkKey string) {
	p := s.newPage(list, titleKey)
	p.Heading = p.Title
	p.Text = p.T[textKey]
	if linkURL != "" {
		p.LinkURL, p.LinkText = linkURL, p.T[linkKey]
	}
	s.render(w, r, status, "message", p)
}

func (s *Server) serverError(w http.ResponseWriter, r *http.Request, list *tidings.List, err error) {
	s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	s.message(w, r, list, http.StatusInternalServerError, "error.title", "error.text", "", "")
}

// list resolves {list}; on failure it has answered.
func (s *Server) list(w http.ResponseWriter, r *http.Request) (*tidings.List, bool) {
	slug := r.PathValue("list")
	if subscribers.ValidSlug("list", slug) != nil {
		s.message(w, r, nil, http.StatusNotFound, "notfound.title", "notfound.text", "", "")
		return nil, false
	}
	l, err := s.cfg.Subscribers.PublicList(r.Context(), slug)
	if errors.Is(err, subscribers.ErrNotFound) {
		s.message(w, r, nil, http.StatusNotFound, "notfound.title", "notfound.text", "", "")
		return nil, false
	}
	if err != nil {
		s.serverError(w, r, nil, err)
		return nil, false
	}
	return l, true
}

// claims verifies the {token} of the path for one of the purposes and for
// this list: a token of another list is as good as forged.
func (s *Server) claims(r *http.Request, list *tidings.List, purposes ...token.Purpose) (token.Claims, error) {
	tok := r.PathValue("token")
	err := token.ErrInvalid
	for _, p := range purposes {
		var c token.Claims
		c, err = s.cfg.Signer.Verify(tok, p)
		if err == nil || errors.Is(err, token.ErrExpired) {
			if c.ListID != list.ID || c.SubscriberID <= 0 {
				return token.Claims{}, token.ErrInvalid
			}
			return c, err
		}
	}
	return token.Claims{}, err
}

// badLink answers an invalid or expired token with a page that offers a
// fresh start.
func (s *Server) badLink(w http.ResponseWriter, r *http.Request, list *tidings.List, err error) {
	again := s.local(s.cfg.Links.Subscribe(list.Slug))
	switch {
	case errors.Is(err, token.ErrExpired):
		s.message(w, r, list, http.StatusGone, "expired.title", "expired.text", again, "again")
	case errors.Is(err, subscribers.ErrTokenUsed):
		s.message(w, r, list, http.StatusGone, "used.title", "used.text", again, "again")
	default:
		s.message(w, r, list, http.StatusBadRequest, "bad.title", "bad.text", again, "again")
	}
}

func (s *Server) prefsLink(list *tidings.List, subID int64) string {
	tok := s.cfg.Signer.Sign(token.Claims{Purpose: token.Preferences, SubscriberID: subID, ListID: list.ID})
	return s.local(s.cfg.Links.Preferences(list.Slug, tok))
}

func topicBoxes(topics []tidings.Topic, all bool, chosen []string) []topicBox {
	set := map[string]bool{}
	for _, c := range chosen {
		set[c] = true
	}
	out := make([]topicBox, 0, len(topics))
	for _, t := range topics {
		out = append(out, topicBox{Slug: t.Slug, Name: t.Name, Checked: all || set[t.Slug]})
	}
	return out
}

// choice reads the topics checkboxes: every topic ticked means all topics
// (including ones added later); unknown slugs are refused.
func choice(topics []tidings.Topic, picked []string) (subscribers.TopicChoice, []string, error) {
	if len(topics) == 0 {
		return subscribers.AllTopics, nil, nil
	}
	known := map[string]bool{}
	for _, t := range topics {
		known[t.Slug] = true
	}
	seen := map[string]bool{}
	var slugs []string
	for _, p := range picked {
		p = strings.TrimSpace(p)
		if p == "" || seen[p] {
			continue
		}
		if !known[p] {
			return subscribers.TopicChoice{}, nil, fmt.Errorf("unknown topic %q", p)
		}
		seen[p] = true
		slugs = append(slugs, p)
	}
	if len(slugs) == 0 {
		return subscribers.TopicChoice{}, nil, errors.New("no topic chosen")
	}
	if len(slugs) == len(topics) {
		return subscribers.AllTopics, slugs, nil
	}
	return subscribers.TopicChoice{Slugs: slugs}, slugs, nil
}

const maxForm = 64 << 10

// parseForm reads an urlencoded or multipart body of bounded size within
// BodyTimeout (a slow-body client is cut off even when the http.Server in
// front sets no ReadTimeout; the deadline is an I/O bound, not behaviour,
// so it runs on the wall clock).
func (s *Server) parseForm(w http.ResponseWriter, r *http.Request) error {
	// Not every ResponseWriter supports deadlines (httptest's recorder does
	// not); there the http.Server's own timeouts are all there is.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(s.cfg.BodyTimeout))
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		return r.ParseMultipartForm(maxForm)
	}
	return r.ParseForm()
}
