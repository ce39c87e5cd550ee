package render

import (
	"bytes"
	"fmt"
	"html"
	htmltemplate "html/template"
	"io/fs"
	"log/slog"
	"strconv"
	"strings"
	texttemplate "text/template"
	"unicode/utf8"

	"github.com/vanng822/go-premailer/premailer"

	"github.com/tidings/tidings"
)

type textTemplate = *texttemplate.Template

// gmailClip is about where Gmail clips a message's HTML ("[Message
// clipped]"), hiding the footer with the unsubscribe link.
const gmailClip = 102 << 10

// base64Len is the encoded size of n bytes in 76-character CRLF lines.
func base64Len(n int) int { return (n+2)/3*4 + (n+56)/57*2 }

// Template files, looked up in templates.Overlay(list.TemplateDir).
const (
	htmlTemplate = "email/newsletter.html"
	textFile     = "email/newsletter.txt"
)

// Slots are the per-reader places of a rendered body. The templates are
// executed with a sentinel word in each place; the output is cut at the
// sentinels. Sentinels are lower-case letters and digits so that neither
// HTML nor URL escaping nor the CSS inliner changes them.
const (
	slotUnsub  = iota // unsubscribe token (in a URL)
	slotPrefs         // preferences token (in a URL)
	slotEmail         // the reader's address
	slotTopics        // the names of the reader's topics
	nSlots
)

const sentinelPrefix = "tdgslot"

func sentinel(slot int) string { return sentinelPrefix + strconv.Itoa(slot) + "x" }

// piece is a static chunk (c != nil) or a slot.
type piece struct {
	c    *chunk
	slot int
}

// body is one rendered article set: the HTML and text parts as pieces.
type body struct {
	n    int // articles
	html []piece
	text []piece
}

type entry struct {
	done chan struct{}
	b    *body
	err  error
}

type topicText struct {
	html, text string
	trackSet   uint64 // the topic set its tracking tokens carry (track.Ref.TopicSet)
}

// view is the data of both templates. Fields ending in HTML-typed values
// are for newsletter.html; the text template gets plain strings.
type view struct {
	Lang, Dir    string
	S            map[string]string
	ListName     string
	Title        string
	Number       int
	NumberText   string // "第7期"; empty when the masthead already says it
	Date         string
	Subject      string
	Preheader    string
	Masthead     any
	Intro        any
	Footer       any
	Articles     []viewArticle
	Address      string
	ViewURL      string
	PrefsURL     string
	UnsubURL     string
	Email        string
	ReaderTopics string
	Links        []string // text: numbered link references
}

type viewArticle struct {
	Num     int // 1, 2, … in this reader's copy
	Pos     int // position in the issue
	Anchor  string
	Title   string
	Heading string // text: title with its underline
	Topics  string // names of the article's topics
	Body    any
}

func (e *Edition) parseTemplates(fsys fs.FS) error {
	trHTML := func(key string, kv ...string) htmltemplate.HTML {
		return htmltemplate.HTML(fill(html.EscapeString(e.s[key]), html.EscapeString, kv...))
	}
	h, err := htmltemplate.New("newsletter.html").Funcs(htmltemplate.FuncMap{"tr": trHTML}).ParseFS(fsys, htmlTemplate)
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	e.html = h
	trText := func(key string, kv ...string) string {
		return fill(e.s[key], func(s string) string { return s }, kv...)
	}
	wrap := func(s string) string { return strings.Join(wrapText(s, width), "\n") }
	inc := func(i int) int { return i + 1 }
	// trimSpace: "Links: " ends a line, where a trailing space is noise
	t, err := texttemplate.New("newsletter.txt").Funcs(texttemplate.FuncMap{"tr": trText, "wrap": wrap, "inc": inc, "trimSpace": strings.TrimSpace}).ParseFS(fsys, textFile)
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	e.text = t
	return nil
}

// body returns the rendered body of the article set mask, rendering it
// on first use. Concurrent callers of a new set wait for one rendering.
func (e *Edition) body(mask []byte) (*body, error) {
	e.mu.RLock()
	en, ok := e.bodies[string(mask)]
	e.mu.RUnlock()
	if !ok {
		e.mu.Lock()
		if en, ok = e.bodies[string(mask)]; !ok {
			en = &entry{done: make(chan struct{})}
			e.bodies[string(mask)] = en
		}
		e.mu.Unlock()
		if !ok {
			en.b, en.err = e.render(mask)
			close(en.done)
		}
	}
	<-en.done
	return en.b, en.err
}

func (e *Edition) selected(mask []byte) []*article {
	var sel []*article
	for i, a := range e.arts {
		if mask[i/8]&(1<<(i%8)) != 0 {
			sel = append(sel, a)
		}
	}
	return sel
}

func (e *Edition) topicNames(slugs []string) string {
	var names []string
	for _, s := range slugs {
		if n := e.names[s]; n != "" {
			names = append(names, n)
		} else {
			names = append(names, s)
		}
	}
	return strings.Join(names, e.s["topicSep"])
}

func (e *Edition) baseView(sel []*article) view {
	v := view{
		Lang: e.list.Lang.Tag(), Dir: "ltr", S: e.s,
		ListName:     e.list.Name,
		Title:        oneLine(e.issue.Title),
		Number:       e.issue.Number,
		NumberText:   fill(e.s["number"], func(s string) string { return s }, "number", strconv.Itoa(e.issue.Number)),
		Date:         oneLine(e.issue.Date),
		Subject:      e.subject,
		Address:      e.list.Address,
		ViewURL:      e.links.Issue(e.list.Slug, e.issue.Number),
		PrefsURL:     e.links.Preferences(e.list.Slug, sentinel(slotPrefs)),
		UnsubURL:     e.links.Unsubscribe(e.list.Slug, sentinel(slotUnsub)),
		Email:        sentinel(slotEmail),
		ReaderTopics: sentinel(slotTopics),
	}
	if strings.Contains(e.issue.Masthead, v.NumberText) {
		v.NumberText = "" // the bulletin's own masthead line ("2024年第7期") says it
	}
	v.Preheader = oneLine(e.issue.Preheader)
	if v.Preheader == "" {
		var titles []string
		for _, a := range sel {
			titles = append(titles, a.title)
		}
		v.Preheader = truncate(strings.Join(titles, e.s["topicSep"]), 140)
	}
	for _, a := range sel {
		v.Articles = append(v.Articles, viewArticle{Num: len(v.Articles) + 1, Pos: a.pos, Anchor: a.anchor, Title: a.title, Topics: e.topicNames(a.topics)})
	}
	return v
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// render builds the HTML and text parts of one article set.
func (e *Edition) render(mask []byte) (*body, error) {
	sel := e.selected(mask)
	b := &body{n: len(sel)}
	if b.n == 0 {
		return b, nil
	}
	h, err := e.renderHTML(sel, true)
	if err != nil {
		return nil, err
	}
	hb := crlf(e.trackHTML(h))
	if enc := base64Len(len(hb)); enc > gmailClip {
		slog.Warn("render: HTML part passes Gmail's clipping size", "list", e.list.Slug, "issue", e.issue.ID, "articles", b.n, "encoded_bytes", enc)
	}
	b.html = split(hb)
	t, err := e.renderText(sel)
	if err != nil {
		return nil, err
	}
	b.text = split(crlf(t))
	if !hasSlot(b.html, slotUnsub) || !hasSlot(b.text, slotUnsub) {
		return nil, fmt.Errorf("render: list %s: %w: the templates must contain the unsubscribe link (.UnsubURL) in both parts", e.list.Slug, ErrInvalid)
	}
	return b, nil
}

// renderHTML executes the layout and inlines its CSS.
func (e *Edition) renderHTML(sel []*article, inline bool) (string, error) {
	v := e.baseView(sel)
	v.Masthead = e.mast.html
	if !e.intro.empty() {
		v.Intro = e.intro.html
	}
	if !e.footer.empty() {
		v.Footer = e.footer.html
	}
	for i, a := range sel {
		v.Articles[i].Body = a.body.html
	}
	var out bytes.Buffer
	if err := e.html.ExecuteTemplate(&out, "newsletter.html", v); err != nil {
		return "", fmt.Errorf("render: list %s: %s: %w", e.list.Slug, htmlTemplate, err)
	}
	if !inline {
		return out.String(), nil
	}
	p, err := premailer.NewPremailerFromString(out.String(), premailer.NewOptions())
	if err != nil {
		return "", fmt.Errorf("render: inline css: %w", err)
	}
	s, err := p.Transform()
	if err != nil {
		return "", fmt.Errorf("render: inline css: %w", err)
	}
	return s, nil
}

// renderText executes the text layout over the plain-text renderings of
// the same Markdown trees.
func (e *Edition) renderText(sel []*article) (string, error) {
	v := e.baseView(sel)
	w := newTextWriter()
	take := func(d *doc) string {
		w.b.Reset()
		w.doc(d)
		return strings.TrimRight(w.b.String(), "\n")
	}
	if s := take(e.mast); s != "" {
		v.Masthead = s
	}
	if s := take(e.intro); s != "" {
		v.Intro = s
	}
	for i, a := range sel {
		v.Articles[i].Body = take(a.body) + "\n"
		head := strconv.Itoa(i+1) + ". " + a.title
		v.Articles[i].Heading = head + "\n" + strings.Repeat("=", min(textWidth(head), width))
	}
	if s := take(e.footer); s != "" {
		v.Footer = s
	}
	v.Links = w.links
	var out bytes.Buffer
	if err := e.text.ExecuteTemplate(&out, "newsletter.txt", v); err != nil {
		return "", fmt.Errorf("render: list %s: %s: %w", e.list.Slug, textFile, err)
	}
	return out.String(), nil
}

// crlf makes line ends CRLF: the canonical form of text/* in MIME.
func crlf(s string) []byte {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

// split cuts a rendered part at its sentinels.
func split(b []byte) []piece {
	var out []piece
	for {
		i := bytes.Index(b, []byte(sentinelPrefix))
		if i < 0 {
			break
		}
		rest := b[i+len(sentinelPrefix):]
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		slot, err := strconv.Atoi(string(rest[:j]))
		if j == 0 || j >= len(rest) || rest[j] != 'x' || err != nil || (slot >= nSlots && !isTrackSlot(slot)) {
			// not one of ours (Prepare refuses sources containing the
			// prefix, so this is template text): keep it as it is
			out = append(out, piece{c: newChunk(b[:i+len(sentinelPrefix)])})
			b = rest
			continue
		}
		if i > 0 {
			out = append(out, piece{c: newChunk(b[:i])})
		}
		out = append(out, piece{slot: slot})
		b = rest[j+1:]
	}
	if len(b) > 0 {
		out = append(out, piece{c: newChunk(b)})
	}
	return out
}

func hasSlot(ps []piece, slot int) bool {
	for _, p := range ps {
		if p.c == nil && p.slot == slot {
			return true
		}
	}
	return false
}

// topicSlot is the rendered names of rc's topics, cached per topic set.
func (e *Edition) topicSlot(rc *tidings.Recipient) *topicText {
	var kb [256]byte
	k := kb[:0]
	if rc.AllTopics {
		k = append(k, 0)
	} else {
		for i, t := range rc.Topics {
			if i > 0 {
				k = append(k, ',')
			}
			k = append(k, t...)
		}
	}
	e.mu.RLock()
	tt, ok := e.topics[string(k)]
	e.mu.RUnlock()
	if ok {
		return tt
	}
	var s string
	switch {
	case rc.AllTopics:
		s = e.s["allTopics"]
	case len(rc.Topics) == 0:
		s = e.s["noTopics"]
	default:
		t := append([]string(nil), rc.Topics...)
		sortDedup(&t)
		s = e.topicNames(t)
	}
	tt = &topicText{html: html.EscapeString(s), text: s}
	if e.trk != nil {
		tt.trackSet = e.trk.topicSet(rc)
	}
	e.mu.Lock()
	e.topics[string(k)] = tt
	e.mu.Unlock()
	return tt
}
