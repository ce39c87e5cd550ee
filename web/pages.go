package web

import (
	"bytes"
	"encoding/json"
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

// ---- subscribe ----

func (s *Server) handleSubscribeForm(w http.ResponseWriter, r *http.Request) {
	list, ok := s.list(w, r)
	if !ok {
		return
	}
	topics, err := s.cfg.Subscribers.PublicTopics(r.Context(), list.ID)
	if err != nil {
		s.serverError(w, r, list, err)
		return
	}
	p := s.newPage(list, "sub.title", list.Name)
	p.NoIndex = false
	p.CSRF = s.csrfToken(w, r)
	p.Topics = topicBoxes(topics, true, nil)
	p.Email = r.URL.Query().Get("email")
	s.render(w, r, http.StatusOK, "subscribe", p)
}

// wantsJSON: the embedding variant of the form.
func wantsJSON(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := mime.ParseMediaType(strings.TrimSpace(part))
		if mt == "application/json" {
			return true
		}
	}
	return false
}

// corsOrigin is the Origin to echo in Access-Control-Allow-Origin, or "".
func (s *Server) corsOrigin(r *http.Request) string {
	o := strings.TrimRight(r.Header.Get("Origin"), "/")
	if o == "" || o == "null" {
		return ""
	}
	if s.anyOK || s.cors[strings.ToLower(o)] {
		return o
	}
	return ""
}

// sameOrigin: the request comes from our own pages.
func (s *Server) sameOrigin(r *http.Request) bool {
	o := strings.ToLower(strings.TrimRight(r.Header.Get("Origin"), "/"))
	if o == "" {
		return true // not a browser cross-origin request
	}
	if o == "http://"+strings.ToLower(r.Host) || o == "https://"+strings.ToLower(r.Host) {
		return true
	}
	base := strings.ToLower(strings.TrimRight(s.cfg.Links.Base, "/"))
	return strings.HasPrefix(base+"/", o+"/")
}

func (s *Server) handlePreflight(w http.ResponseWriter, r *http.Request) {
	o := s.corsOrigin(r)
	w.Header().Add("Vary", "Origin")
	if o == "" {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", o)
	h.Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type, Accept")
	h.Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
}

// subscribeAnswer is the JSON variant's body.
type subscribeAnswer struct {
	OK      bool   `json:"ok"`
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
	Field   string `json:"field,omitempty"`
}

func (s *Server) handleSubscribe(w http.ResponseWriter, r *http.Request) {
	list, ok := s.list(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	isJSON := wantsJSON(r)
	t := textsFor(list.Lang)
	fail := func(status int, titleKey, textKey, field string) {
		if isJSON {
			writeJSON(w, status, subscribeAnswer{Error: t[textKey], Field: field})
			return
		}
		s.message(w, r, list, status, titleKey, textKey, s.local(s.cfg.Links.Subscribe(list.Slug)), "again")
	}
	if isJSON {
		w.Header().Add("Vary", "Origin")
		if o := s.corsOrigin(r); o != "" {
			w.Header().Set("Access-Control-Allow-Origin", o)
		} else if !s.sameOrigin(r) {
			fail(http.StatusForbidden, "forbidden.title", "forbidden.text", "")
			return
		}
	}
	if err := s.parseForm(w, r); err != nil {
		fail(http.StatusBadRequest, "bad.title", "sub.err.email", "")
		return
	}
	if !isJSON && !s.csrfOK(r) {
		fail(http.StatusForbidden, "forbidden.title", "forbidden.text", "")
		return
	}
	now := s.cfg.Now()
	if !s.ipLim.allow(s.clientIP(r), now) {
		w.Header().Set("Retry-After", "600")
		fail(http.StatusTooManyRequests, "many.title", "many.text", "")
		return
	}
	sent := func() {
		if isJSON {
			writeJSON(w, http.StatusOK, subscribeAnswer{OK: true, Message: fmt.Sprintf(t["sent.text"], list.Name)})
			return
		}
		s.render(w, r, http.StatusOK, "sent", s.newPage(list, "sent.title"))
	}
	// Bots fill every field; people never see this one. They get the
	// ordinary answer so they learn nothing.
	if r.PostFormValue("website") != "" {
		s.log.Info("subscribe honeypot filled", "list", list.Slug, "ip", s.clientIP(r))
		sent()
		return
	}
	topics, err := s.cfg.Subscribers.PublicTopics(ctx, list.ID)
	if err != nil {
		s.serverError(w, r, list, err)
		return
	}
	email := strings.TrimSpace(r.PostFormValue("email"))
	name := subscribers.CleanName(r.PostFormValue("name"))
	addr, emailErr := tidings.ParseEmail(email)
	tc, picked, topicErr := choice(topics, r.PostForm["topics"])
	var errKey, field string
	switch {
	case emailErr != nil:
		errKey, field = "sub.err.email", "email"
	case len([]rune(name)) > 200:
		errKey, field = "sub.err.name", "name"
	case topicErr != nil:
		errKey, field = "sub.err.topics", "topics"
	}
	if errKey != "" {
		if isJSON {
			writeJSON(w, http.StatusBadRequest, subscribeAnswer{Error: t[errKey], Field: field})
			return
		}
		p := s.newPage(list, "sub.title", list.Name)
		p.CSRF = s.csrfToken(w, r)
		p.Email, p.Name, p.Error, p.Field = email, name, t[errKey], field
		p.Topics = topicBoxes(topics, false, picked)
		if topicErr != nil {
			p.Topics = topicBoxes(topics, false, r.PostForm["topics"])
		}
		s.render(w, r, http.StatusBadRequest, "subscribe", p)
		return
	}
	// The per-address bucket holds across IPs; when it is empty the reader
	// sees the usual answer and no mail goes out.
	if !s.adLim.allow(mailboxKey(addr.Key), now) {
		s.log.Info("subscribe address limit", "list", list.Slug, "ip", s.clientIP(r))
		sent()
		return
	}
	out, err := s.cfg.Subscribers.RequestSubscription(ctx, list.ID, addr.Addr, name, tc)
	if err != nil {
		s.serverError(w, r, list, err)
		return
	}
	switch out.Reply() {
	case subscribers.ReplyConfirm:
		s.sendMail(list, topics, out.Subscriber, ConfirmMail)
	case subscribers.ReplyManage:
		s.sendMail(list, topics, out.Subscriber, ManageMail)
	default:
		s.log.Info("subscribe request ignored", "list", list.Slug, "subscriber", out.Subscriber.ID, "status", string(out.Before))
	}
	sent()
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// ---- confirm ----

func (s *Server) handleConfirm(w http.ResponseWriter, r *http.Request) {
	list, ok := s.list(w, r)
	if !ok {
		return
	}
	c, err := s.claims(r, list, token.Confirm)
	if err != nil {
		s.badLink(w, r, list, err)
		return
	}
	if r.Method == http.MethodHead {
		// Link checkers probe with HEAD: answering must not spend the
		// single-use token the reader is about to click.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		return
	}
	ctx := r.Context()
	err = s.cfg.Subscribers.ConfirmSubscription(ctx, list.ID, c.SubscriberID, c.Nonce)
	switch {
	case errors.Is(err, subscribers.ErrTokenUsed):
		s.badLink(w, r, list, err)
		return
	case errors.Is(err, subscribers.ErrNotFound), errors.Is(err, subscribers.ErrNotConfirmable), errors.Is(err, subscribers.ErrInvalid):
		s.badLink(w, r, list, token.ErrInvalid)
		return
	case err != nil:
		s.serverError(w, r, list, err)
		return
	}
	sub, err := s.cfg.Subscribers.Subscription(ctx, list.ID, c.SubscriberID)
	if err != nil {
		s.serverError(w, r, list, err)
		return
	}
	topics, err := s.cfg.Subscribers.PublicTopics(ctx, list.ID)
	if err != nil {
		s.serverError(w, r, list, err)
		return
	}
	p := s.newPage(list, "ok.title")
	p.AllTopics = sub.AllTopics
	for _, b := range topicBoxes(topics, sub.AllTopics, sub.Topics) {
		if b.Checked {
			p.ChosenNames = append(p.ChosenNames, b.Name)
		}
	}
	p.PrefsURL = s.prefsLink(list, c.SubscriberID)
	s.log.Info("subscription confirmed", "list", list.Slug, "subscriber", c.SubscriberID)
	s.render(w, r, http.StatusOK, "confirmed", p)
}

// ---- preferences ----

// reader resolves the token and the person behind a preferences or
// unsubscribe link; on failure it has answered.
func (s *Server) reader(w http.ResponseWriter, r *http.Request, list *tidings.List, purposes ...token.Purpose) (*tidings.Subscriber, *tidings.Subscription, bool) {
	c, err := s.claims(r, list, purposes...)
	if err != nil {
		s.badLink(w, r, list, err)
		return nil, nil, false
	}
	ctx := r.Context()
	sub, err := s.cfg.Subscribers.GetByID(ctx, c.SubscriberID)
	if err == nil {
		var ss *tidings.Subscription
		if ss, err = s.cfg.Subscribers.Subscription(ctx, list.ID, c.SubscriberID); err == nil {
			return sub, ss, true
		}
	}
	if errors.Is(err, subscribers.ErrNotFound) {
		// The person was erased: the link is dead.
		s.badLink(w, r, list, token.ErrInvalid)
	} else {
		s.serverError(w, r, list, err)
	}
	return nil, nil, false
}

var doneNotices = map[string]string{
	"saved":           "prefs.saved",
	"unsubscribe":     "prefs.unsubbed",
	"unsubscribe-all": "prefs.allgone",
	"resubscribe":     "prefs.back",
}

func (s *Server) handlePreferences(w http.ResponseWriter, r *http.Request) {
	list, ok := s.list(w, r)
	if !ok {
		return
	}
	sub, ss, ok := s.reader(w, r, list, token.Preferences, token.Manage)
	if !ok {
		return
	}
	p, err := s.prefsPage(w, r, list, sub, ss)
	if err != nil {
		s.serverError(w, r, list, err)
		return
	}
	if key, ok := doneNotices[r.URL.Query().Get("done")]; ok {
		p.Notice = fmt.Sprintf(p.T[key], list.Name)
		if key == "prefs.saved" || key == "prefs.allgone" || key == "prefs.back" {
			p.Notice = p.T[key]
		}
	}
	s.render(w, r, http.StatusOK, "preferences", p)
}

func (s *Server) prefsPage(w http.ResponseWriter, r *http.Request, list *tidings.List, sub *tidings.Subscriber, ss *tidings.Subscription) (*pageData, error) {
	topics, err := s.cfg.Subscribers.PublicTopics(r.Context(), list.ID)
	if err != nil {
		return nil, err
	}
	p := s.newPage(list, "prefs.title")
	p.CSRF = s.csrfToken(w, r)
	p.Email, p.Name = sub.Email, sub.Name
	p.StatusKey = ss.Status
	p.Status = p.T["st."+string(ss.Status)]
	p.Topics = topicBoxes(topics, ss.AllTopics, ss.Topics)
	return p, nil
}

func (s *Server) handlePreferencesPost(w http.ResponseWriter, r *http.Request) {
	list, ok := s.list(w, r)
	if !ok {
		return
	}
	if err := s.parseForm(w, r); err != nil || !s.csrfOK(r) {
		s.message(w, r, list, http.StatusForbidden, "forbidden.title", "forbidden.text", s.self(r), "again")
		return
	}
	sub, ss, ok := s.reader(w, r, list, token.Preferences, token.Manage)
	if !ok {
		return
	}
	ctx := r.Context()
	action := r.PostFormValue("action")
	var err error
	switch action {
	case "save":
		name := subscribers.CleanName(r.PostFormValue("name"))
		topics, terr := s.cfg.Subscribers.PublicTopics(ctx, list.ID)
		if terr != nil {
			s.serverError(w, r, list, terr)
			return
		}
		tc, _, cerr := choice(topics, r.PostForm["topics"])
		if cerr != nil || len([]rune(name)) > 200 {
			p, perr := s.prefsPage(w, r, list, sub, ss)
			if perr != nil {
				s.serverError(w, r, list, perr)
				return
			}
			p.Name = name
			p.Error, p.Field = p.T["sub.err.topics"], "topics"
			if cerr == nil {
				p.Error, p.Field = p.T["sub.err.name"], "name"
			}
			p.Topics = topicBoxes(topics, false, r.PostForm["topics"])
			s.render(w, r, http.StatusBadRequest, "preferences", p)
			return
		}
		if name != sub.Name {
			err = s.cfg.Subscribers.SetName(ctx, sub.ID, name)
		}
		if err == nil {
			err = s.cfg.Subscribers.SetTopics(ctx, list.ID, sub.ID, tc)
		}
		action = "saved"
	case "unsubscribe":
		err = s.cfg.Subscribers.Unsubscribe(ctx, list.ID, sub.ID)
	case "unsubscribe-all":
		_, err = s.cfg.Subscribers.UnsubscribeAll(ctx, sub.ID)
	case "resubscribe":
		// Only a reader who left may come back this way: the link proves
		// the mailbox, but a bounced or blocked address stays so.
		if ss.Status != tidings.StatusUnsubscribed {
			action = "saved"
			break
		}
		err = s.cfg.Subscribers.SetStatus(ctx, list.ID, sub.ID, tidings.StatusConfirmed)
	default:
		s.message(w, r, list, http.StatusBadRequest, "bad.title", "bad.text", s.self(r), "prefs.title")
		return
	}
	if err != nil {
		s.serverError(w, r, list, err)
		return
	}
	s.log.Info("preferences changed", "list", list.Slug, "subscriber", sub.ID, "action", action)
	// Post/redirect/get: a reload does not post again.
	http.Redirect(w, r, s.self(r)+"?done="+action, http.StatusSeeOther)
}

// ---- unsubscribe ----

func (s *Server) handleUnsubscribeForm(w http.ResponseWriter, r *http.Request) {
	list, ok := s.list(w, r)
	if !ok {
		return
	}
	// A GET never unsubscribes: scanners and previews follow links.
	sub, _, ok := s.reader(w, r, list, token.Unsubscribe)
	if !ok {
		return
	}
	p := s.newPage(list, "unsub.title", list.Name)
	p.CSRF = s.csrfToken(w, r)
	p.Email = sub.Email
	p.PrefsURL = s.prefsLink(list, sub.ID)
	s.render(w, r, http.StatusOK, "unsubscribe", p)
}

// handleUnsubscribe is both the page's button and the RFC 8058 one-click
// POST a mailbox provider makes (body List-Unsubscribe=One-Click, no
// cookie): it answers 200 itself and never redirects.
func (s *Server) handleUnsubscribe(w http.ResponseWriter, r *http.Request) {
	list, ok := s.list(w, r)
	if !ok {
		return
	}
	if err := s.parseForm(w, r); err != nil {
		s.message(w, r, list, http.StatusBadRequest, "bad.title", "bad.text", "", "")
		return
	}
	oneClick := r.PostFormValue("List-Unsubscribe") == "One-Click"
	if !oneClick && !s.csrfOK(r) {
		s.message(w, r, list, http.StatusForbidden, "forbidden.title", "forbidden.text", s.self(r), "unsub.button")
		return
	}
	if oneClick {
		// A test copy's link is signed for nobody (subscriber 0): the
		// provider's one-click succeeds and changes nothing.
		if c, err := s.cfg.Signer.Verify(r.PathValue("token"), token.Unsubscribe); err == nil && c.ListID == list.ID && c.SubscriberID == 0 {
			s.message(w, r, list, http.StatusOK, "unsubbed.title", "prefs.allgone", "", "")
			return
		}
		// A validly signed link of a person since erased: there is nobody
		// left to unsubscribe, which is what the provider asks for.
		if c, err := s.claims(r, list, token.Unsubscribe); err == nil {
			if _, err := s.cfg.Subscribers.GetByID(r.Context(), c.SubscriberID); errors.Is(err, subscribers.ErrNotFound) {
				s.message(w, r, list, http.StatusOK, "unsubbed.title", "prefs.allgone", "", "")
				return
			}
		}
	}
	sub, ss, ok := s.reader(w, r, list, token.Unsubscribe)
	if !ok {
		return
	}
	if ss.Status == tidings.StatusPending || ss.Status == tidings.StatusConfirmed {
		if err := s.cfg.Subscribers.Unsubscribe(r.Context(), list.ID, sub.ID); err != nil {
			s.serverError(w, r, list, err)
			return
		}
		s.log.Info("unsubscribed", "list", list.Slug, "subscriber", sub.ID, "one_click", oneClick)
	}
	p := s.newPage(list, "unsubbed.title")
	p.Email = sub.Email
	p.PrefsURL = s.prefsLink(list, sub.ID)
	s.render(w, r, http.StatusOK, "unsubscribed", p)
}
