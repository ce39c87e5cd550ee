package console

import (
	"net/http"
	"net/url"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/console/form"
	"github.com/tidings/tidings/ops"
)

type subscriberListPage struct {
	Page     *ops.SubscriberPage
	Query    ops.SubscriberQuery
	Topics   []tidings.Topic
	Names    map[string]string // topic slug → name, for the rows
	Statuses []tidings.Status
	NextURL  string
	Error    string
	Form     form.Subscriber
}

var allStatuses = []tidings.Status{tidings.StatusConfirmed, tidings.StatusPending, tidings.StatusUnsubscribed, tidings.StatusBounced, tidings.StatusBlocked}

// subscriberList searches and filters a list's readers, one keyset page
// at a time ("next" only: no count of every row).
func (h *handler) subscriberList(w http.ResponseWriter, r *http.Request) {
	h.showSubscribers(w, r, http.StatusOK, form.Subscriber{}, nil)
}

func (h *handler) showSubscribers(w http.ResponseWriter, r *http.Request, status int, f form.Subscriber, ferr error) {
	a := actorOf(r)
	l, err := h.ops.List(r.Context(), a, r.PathValue("list"))
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	qv := r.URL.Query()
	q := ops.SubscriberQuery{Q: qv.Get("q"), Topic: qv.Get("topic"), Cursor: qv.Get("cursor"), Limit: 50}
	if s := qv.Get("status"); s != "" {
		st, err := tidings.ParseStatus(s)
		if err != nil {
			h.fail(w, r, http.StatusUnprocessableEntity, "err.invalid", err)
			return
		}
		q.Status = st
	}
	pg, err := h.ops.Subscribers(r.Context(), a, l.Slug, q)
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	ts, _ := h.ops.TopicChoices(r.Context(), a, l.Slug)
	p := subscriberListPage{Page: pg, Query: q, Topics: ts, Names: topicNames(ts), Statuses: allStatuses, Form: f}
	if pg.Next != "" {
		nv := url.Values{}
		for k, v := range qv {
			if k != "cursor" && k != "done" {
				nv[k] = v
			}
		}
		nv.Set("cursor", pg.Next)
		p.NextURL = r.URL.Path + "?" + nv.Encode()
	}
	if ferr != nil {
		p.Error = h.formError(r, ferr)
	}
	h.render(w, r, status, "subscribers", view{Title: h.t(r, "subs.title"), List: l, Data: p})
}
