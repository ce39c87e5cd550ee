// preferences.go holds what a reader does from a mail's links: change
// topics on the preferences page, and unsubscribe (the page and the RFC
// 8058 one-click POST).

package web

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/subscribers"
	"github.com/tidings/tidings/token"
)

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
