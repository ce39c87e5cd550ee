package console

import (
	"net/http"

	"github.com/tidings/tidings/console/form"
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

// formFailed shows the issue page again with a form's error, or the error
// page when the failure is not the form's (forbidden, gone, broken).
func (h *handler) formFailed(w http.ResponseWriter, r *http.Request, id int64, which string, err error) {
	code, ok := formStatus(w, err)
	if !ok {
		h.opsError(w, r, err)
		return
	}
	h.showIssue(w, r, id, code, which, err)
}
