package console

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/schedule"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFS, "static")
	fsh := http.FileServer(http.FS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=300")
		fsh.ServeHTTP(w, r)
	})
}

// views are the parsed pages: layout.html and partials.html with one page
// file each, so every page defines its own "content".
type views struct{ pages map[string]*template.Template }

var funcs = template.FuncMap{
	"num":       num,
	"when":      when,
	"whenZone":  whenZone,
	"join":      strings.Join,
	"has":       func(s []string, v string) bool { return slices.Contains(s, v) },
	"hasInt":    func(s []int, v int) bool { return slices.Contains(s, v) },
	"itoa":      itoa,
	"pct":       func(n, of int) int { return percent(n, of) },
	"dur":       func(d time.Duration) string { return d.Round(time.Second).String() },
	"add":       func(a, b int) int { return a + b },
	"sub":       func(a, b int) int { return a - b },
	"mul100":    func(f float64) float64 { return f * 100 },
	"list":      func(s ...string) []string { return s },
	"zone":      zone,
	"plainJSON": plainJSON,
	"trackings": func() []string {
		return []string{string(tidings.TrackOff), string(tidings.TrackAggregate), string(tidings.TrackIndividual)}
	},
	// dict passes several values to a shared template: dict "K" v "K2" v2.
	"dict": func(kv ...any) map[string]any {
		m := make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			k, _ := kv[i].(string)
			m[k] = kv[i+1]
		}
		return m
	},
}

// plainJSON shows a JSON detail as people write it: "<" and not "\u003c"
// (the page escapes it as HTML anyway).
func plainJSON(s string) string {
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return s
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return s
	}
	return strings.TrimSpace(b.String())
}

// zone resolves a schedule's zone name for display, UTC when unknown.
func zone(name string) *time.Location {
	if loc, err := time.LoadLocation(name); err == nil {
		return loc
	}
	return time.UTC
}

func loadViews() (*views, error) {
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html")
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("templates: %w", err)
	}
	vs := &views{pages: map[string]*template.Template{}}
	for _, n := range names {
		short := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if short == "layout" || short == "partials" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, n)
		if err != nil {
			return nil, fmt.Errorf("template %s: %w", n, err)
		}
		vs.pages[short] = t
	}
	return vs, nil
}

// view is what an action hands to render.
type view struct {
	Title   string        // the page's heading and <title>, already translated
	List    *tidings.List // the list the page is about; nil: the remembered one
	IssueID int64         // shows the issue's tabs
	Data    any
	// schedules, when the action already read the list's schedules, saves
	// the header reading them again.
	schedules []schedule.Schedule
}

// page is what every template sees.
type page struct {
	view
	Lang     tidings.Lang
	Actor    tidings.Actor
	SignedIn bool
	Lists    []tidings.List
	NextSend string // the current list's next scheduled send, in its zone
	Nav      []navLink
	Tabs     []navLink
	Path     string
	Back     string // this page's address, for forms that come back here
	Notice   string
	h        *handler
	lang     *catalog
}

type navLink struct {
	Label, Href string
	Current     bool
}

// T translates key into the page's language; args fill its %s/%d verbs.
func (p *page) T(key string, args ...any) string { return p.lang.text(key, args...) }

// TK translates prefix+v when the catalog knows it, else shows v as it
// is (codes from other packages that may grow new values).
func (p *page) TK(prefix, v string) string {
	if p.lang.has(prefix + v) {
		return p.T(prefix + v)
	}
	return v
}

// Zone is the current list's time zone, for times shown in the page.
func (p *page) Zone() *time.Location {
	if p.List != nil {
		return p.List.Location()
	}
	return time.UTC
}

// listCookie remembers the list last worked on, so pages that are not
// about one list (home, schedules) still show it in the header.
const listCookie = "tidings_list"

// render writes a page: the layout around the view's template.
func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	t, ok := h.views.pages[name]
	if !ok {
		h.log.Error("console: no template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	p := h.newPage(w, r, v)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		h.log.Error("console: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", p.Lang.Tag())
	w.Header().Set("Vary", "Accept-Language, Cookie")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (h *handler) newPage(w http.ResponseWriter, r *http.Request, v view) *page {
	lang := h.language(r)
	p := &page{view: v, Lang: lang, lang: catalogs[lang], h: h, Path: r.URL.Path, Back: r.URL.RequestURI()}
	if r.Method != http.MethodGet {
		p.Back = prefix + "/" // a form's answer: its address takes no GET
	}
	if n := r.URL.Query().Get("done"); n != "" {
		if k := "done." + n; p.lang.has(k) {
			p.Notice = p.T(k)
		}
	}
	if !signedIn(r) {
		return p
	}
	p.Actor, p.SignedIn = actorOf(r), true
	lists, err := h.ops.Lists(r.Context(), p.Actor)
	if err != nil {
		h.log.Warn("console: lists for the header", "err", err)
	}
	p.Lists = lists
	if p.List == nil {
		want := ""
		if c, err := r.Cookie(listCookie); err == nil {
			want = c.Value
		}
		for i := range lists {
			if lists[i].Slug == want || (p.List == nil && i == 0) {
				p.List = &lists[i]
			}
		}
	} else if c, err := r.Cookie(listCookie); err != nil || c.Value != p.List.Slug {
		http.SetCookie(w, &http.Cookie{Name: listCookie, Value: p.List.Slug, Path: prefix + "/",
			HttpOnly: true, Secure: h.cfg.SecureCookies, SameSite: http.SameSiteLaxMode})
	}
	slug := ""
	if p.List != nil {
		slug = p.List.Slug
		ss, err := v.schedules, error(nil)
		if ss == nil {
			ss, err = h.ops.Schedules(r.Context(), p.Actor, slug)
		}
		if err == nil {
			var next time.Time
			for _, s := range ss {
				if !s.Next.IsZero() && (next.IsZero() || s.Next.Before(next)) {
					next = s.Next
				}
			}
			if !next.IsZero() {
				p.NextSend = whenZone(next, p.List.Location())
			}
		}
	}
	best := -1 // the entry whose address is the longest prefix of this page's
	for _, n := range nav {
		if (n.perList && slug == "") || (n.admin && !p.Actor.IsAdmin()) {
			continue
		}
		href := n.href(slug)
		if r.URL.Path == href || (href != prefix+"/" && strings.HasPrefix(r.URL.Path, href+"/")) {
			if best < 0 || len(href) > len(p.Nav[best].Href) {
				best = len(p.Nav)
			}
		}
		p.Nav = append(p.Nav, navLink{Label: p.T(n.key), Href: href})
	}
	if best >= 0 {
		p.Nav[best].Current = true
	}
	if v.IssueID != 0 {
		for _, t := range issueTabs {
			href := t.href(v.IssueID)
			p.Tabs = append(p.Tabs, navLink{Label: p.T(t.key), Href: href, Current: r.URL.Path == href})
		}
	}
	return p
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// num writes 1234567 as 1,234,567.
func num(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func percent(n, of int) int {
	if of <= 0 {
		return 0
	}
	return n * 100 / of
}

// when is a time in loc, "" for the zero time.
func when(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04")
}

// whenZone is a time in loc with the zone named.
func whenZone(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return ""
	}
	if loc == nil {
		loc = time.UTC
	}
	return when(t, loc) + " (" + loc.String() + ")"
}
