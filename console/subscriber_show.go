package console

import (
	"net/http"

	"github.com/tidings/tidings"
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
			ts, _ := h.ops.TopicChoices(r.Context(), a, l.Slug)
			p.Topics[l.ID] = ts
		}
	}
	if ferr != nil {
		p.Error = h.formError(r, ferr)
	}
	h.render(w, r, status, "subscriber", view{Title: d.Subscriber.Email, List: cur, Data: p})
}
