// subscribe.go holds subscribing: the form, the cross-origin and JSON
// sign-up, and the double opt-in confirmation link.

package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/subscribers"
	"github.com/tidings/tidings/token"
)

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
