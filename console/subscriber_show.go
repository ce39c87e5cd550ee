package console

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/console/form"
	"github.com/tidings/tidings/ops"
)

// subscriberPage is a person's page: their subscriptions on the user's
// lists with topics, the history, and the actions.
type subscriberPage struct {
	D      *ops.SubscriberDetail
	Lists  map[int64]tidings.List
	Topics map[int64][]tidings.Topic // per list id
	Error  string
}

func (h *handler) subscriberShow(w http.ResponseWriter, r *http.Request) {
	h.showSubscriber(w, r, http.StatusOK, nil)
}

func (h *handler) showSubscriber(w http.ResponseWriter, r *http.Request, status int, ferr error) {
	a := actorOf(r)
	d, err := h.ops.Subscriber(r.Context(), a, r.PathValue("email"))
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	p := subscriberPage{D: d, Lists: map[int64]tidings.List{}, Topics: map[int64][]tidings.Topic{}}
	lists, _ := h.ops.Lists(r.Context(), a)
	var cur *tidings.List
	for _, l := range lists {
		p.Lists[l.ID] = l
	}
	for _, s := range d.Subscriber.Subscriptions {
		if l, ok := p.Lists[s.ListID]; ok {
			if cur == nil {
				cur = &l
			}
			ts, _ := h.ops.Topics(r.Context(), a, l.Slug)
			p.Topics[l.ID] = ts
		}
	}
	if ferr != nil {
		p.Error = h.formError(r, ferr)
	}
	h.render(w, r, status, "subscriber", view{Title: d.Subscriber.Email, List: cur, Data: p})
}

func (h *handler) subscriberTopics(w http.ResponseWriter, r *http.Request) {
	f, err := form.ParseSubscriberTopics(r)
	if err == nil {
		err = h.ops.SetSubscriberTopics(r.Context(), actorOf(r), f.List, r.PathValue("email"), f.Topics)
	}
	h.afterSubscriberChange(w, r, err, "saved")
}

// subscriberStatus unsubscribes, blocks or re-confirms a person on a list.
func (h *handler) subscriberStatus(w http.ResponseWriter, r *http.Request) {
	f, err := form.ParseSubscriberStatus(r)
	if err == nil {
		err = h.ops.SetSubscriberStatus(r.Context(), actorOf(r), f.List, r.PathValue("email"), f.Status)
	}
	h.afterSubscriberChange(w, r, err, "status")
}

// subscriberErase erases every trace of the person (admins; ops checks),
// after the box that says so is ticked.
func (h *handler) subscriberErase(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("confirm") != "yes" {
		h.showSubscriber(w, r, http.StatusUnprocessableEntity, &form.Error{Field: "confirm", Key: "sub.err.confirm"})
		return
	}
	if err := h.ops.DeleteSubscriber(r.Context(), actorOf(r), r.PathValue("email")); err != nil {
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/", "erased")
}

func (h *handler) afterSubscriberChange(w http.ResponseWriter, r *http.Request, err error, done string) {
	if err != nil {
		if errors.Is(err, form.ErrBad) || errors.Is(err, ops.ErrInvalid) || errors.Is(err, ops.ErrConflict) {
			h.showSubscriber(w, r, http.StatusUnprocessableEntity, err)
			return
		}
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/subscribers/"+url.PathEscape(r.PathValue("email")), done)
}
