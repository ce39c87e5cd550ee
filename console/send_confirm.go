package console

import (
	"net/http"

	"github.com/tidings/tidings/ops"
)

// sendPage is the confirmation before sending: it states the number of
// readers the issue goes to.
type sendPage struct {
	D          *ops.IssueDetail
	Recipients int
	Skipped    int
	Error      string
}

func (h *handler) sendConfirm(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r, "id")
	if !ok {
		return
	}
	h.showSendConfirm(w, r, id, http.StatusOK, nil)
}

func (h *handler) showSendConfirm(w http.ResponseWriter, r *http.Request, id int64, status int, ferr error) {
	a := actorOf(r)
	d, err := h.ops.Issue(r.Context(), a, id)
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	aud, err := h.ops.Audience(r.Context(), a, id)
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	p := sendPage{D: d, Recipients: aud.Total - aud.Skipped, Skipped: aud.Skipped}
	if ferr != nil {
		p.Error = h.formError(r, ferr)
	}
	h.render(w, r, status, "send", view{Title: h.t(r, "send.title"), List: d.List, IssueID: id, Data: p})
}
