package console

import (
	"net/http"
	"net/url"

	"github.com/tidings/tidings/console/form"
)

// subscriberAdd adds a person, confirmed at once.
func (h *handler) subscriberAdd(w http.ResponseWriter, r *http.Request) {
	f, err := form.ParseSubscriber(r)
	if err == nil {
		_, err = h.ops.AddSubscriber(r.Context(), actorOf(r), r.PathValue("list"), f.Email, f.Name, f.Topics)
	}
	if err != nil {
		if code, ok := formStatus(w, err); ok {
			h.showSubscribers(w, r, code, f, err)
			return
		}
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/subscribers/"+url.PathEscape(f.Email), "added")
}
