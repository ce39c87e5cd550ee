package console

import (
	"net/http"
	"net/url"

	"github.com/tidings/tidings/console/form"
)

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

func (h *handler) afterSubscriberChange(w http.ResponseWriter, r *http.Request, err error, done string) {
	if err != nil {
		if code, ok := formStatus(w, err); ok {
			h.showSubscriber(w, r, code, err)
			return
		}
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/subscribers/"+url.PathEscape(r.PathValue("email")), done)
}
