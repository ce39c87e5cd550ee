package console

import (
	"errors"
	"net/http"

	"github.com/tidings/tidings/console/form"
	"github.com/tidings/tidings/ops"
)

// testSend mails a marked test copy, by default to the signed-in user.
func (h *handler) testSend(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r, "id")
	if !ok {
		return
	}
	f, err := form.ParseTestCopy(r)
	if err == nil {
		_, err = h.ops.SendTest(r.Context(), actorOf(r), id, f.To, f.As)
	}
	if err != nil {
		h.formFailed(w, r, id, "test", err)
		return
	}
	back(w, r, "/admin/issues/"+itoa(id)+"#test", "test")
}

// issueSchedule schedules a one-off send at a time in the list's zone.
func (h *handler) issueSchedule(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r, "id")
	if !ok {
		return
	}
	f, err := form.ParseSchedule(r)
	if err == nil {
		_, err = h.ops.Schedule(r.Context(), actorOf(r), id, f.At, "")
	}
	if err != nil {
		h.formFailed(w, r, id, "schedule", err)
		return
	}
	back(w, r, "/admin/issues/"+itoa(id)+"#schedule", "scheduled")
}

// formFailed shows the issue page again with a form's error, or the error
// page when the failure is not the form's (forbidden, gone, broken).
func (h *handler) formFailed(w http.ResponseWriter, r *http.Request, id int64, which string, err error) {
	code, _ := statusOf(err)
	switch {
	case errors.Is(err, form.ErrBad):
		code = http.StatusUnprocessableEntity
	case errors.Is(err, ops.ErrInvalid), errors.Is(err, ops.ErrConflict), errors.Is(err, ops.ErrUnavailable), errors.Is(err, ops.ErrRateLimited):
		setRetryAfter(w, err)
	default:
		h.opsError(w, r, err)
		return
	}
	h.showIssue(w, r, id, code, which, err)
}

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

// sendNow hands the issue to the daemon and shows its progress.
func (h *handler) sendNow(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r, "id")
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("confirm") != "yes" {
		h.showSendConfirm(w, r, id, http.StatusUnprocessableEntity, &form.Error{Field: "confirm", Key: "send.err.confirm"})
		return
	}
	if _, err := h.ops.SendNow(r.Context(), actorOf(r), id); err != nil {
		if errors.Is(err, ops.ErrInvalid) || errors.Is(err, ops.ErrConflict) || errors.Is(err, ops.ErrUnavailable) {
			code, _ := statusOf(err)
			h.showSendConfirm(w, r, id, code, err)
			return
		}
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/issues/"+itoa(id)+"/progress", "sending")
}
