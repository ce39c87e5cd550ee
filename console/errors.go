package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/tidings/tidings/console/form"
	"github.com/tidings/tidings/ops"
)

// statusOf maps an ops error to its HTTP status and the i18n key of the
// friendly headline: the one place the console decides this.
func statusOf(err error) (int, string) {
	switch {
	case errors.Is(err, ops.ErrUnauthenticated):
		return http.StatusUnauthorized, "err.unauthenticated"
	case errors.Is(err, ops.ErrForbidden):
		return http.StatusForbidden, "err.forbidden"
	case errors.Is(err, ops.ErrNotFound):
		return http.StatusNotFound, "err.notfound"
	case errors.Is(err, ops.ErrRateLimited):
		return http.StatusTooManyRequests, "err.ratelimited"
	case errors.Is(err, ops.ErrInvalid):
		return http.StatusUnprocessableEntity, "err.invalid"
	case errors.Is(err, ops.ErrConflict):
		return http.StatusConflict, "err.conflict"
	case errors.Is(err, ops.ErrUnavailable):
		return http.StatusServiceUnavailable, "err.unavailable"
	}
	return http.StatusInternalServerError, "err.internal"
}

// formStatus decides, in the same one place, whether a failed form is the
// user's to fix there: bad input, a conflict with the object's state, a
// missing relay or a limit come back in the form with the message (and
// the status statusOf gives, 422 for the form's own checks); anything
// else (forbidden, not found, broken) gets the error page.
func formStatus(w http.ResponseWriter, err error) (int, bool) {
	if errors.Is(err, form.ErrBad) {
		return http.StatusUnprocessableEntity, true
	}
	switch status, _ := statusOf(err); status {
	case http.StatusUnprocessableEntity, http.StatusConflict, http.StatusServiceUnavailable, http.StatusTooManyRequests:
		setRetryAfter(w, err)
		return status, true
	}
	return 0, false
}

// errorPage is the data of error.html.
type errorPage struct {
	Status int
	Text   string // the explanation, translated
	Detail string // what ops said, for 4xx answers: it names the field or object
}

// opsError answers a failed operation with a friendly page.
func (h *handler) opsError(w http.ResponseWriter, r *http.Request, err error) {
	status, key := statusOf(err)
	h.fail(w, r, status, key, err)
}

// fail renders the error page for status; err is logged, and shown when it
// is the user's to fix (4xx) — never a 5xx's internals.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, status int, key string, err error) {
	setRetryAfter(w, err)
	ep := errorPage{Status: status}
	if status >= 500 {
		h.log.Error("console", "method", r.Method, "path", r.URL.Path, "err", err)
	} else if err != nil {
		ep.Detail = err.Error()
		h.log.Info("console: refused", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	}
	if status == http.StatusUnauthorized && r.Method != http.MethodGet {
		h.clearSession(w)
	}
	p := catalogs[h.language(r)]
	ep.Text = p.text(key + ".text")
	h.render(w, r, status, "error", view{Title: p.text(key), Data: ep})
}

func setRetryAfter(w http.ResponseWriter, err error) {
	var rl *ops.RateLimitError
	if errors.As(err, &rl) {
		secs := int((rl.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	}
}

// writeJSON answers the small JSON endpoints the script polls.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// jsonError answers a JSON endpoint's failure as a problem document.
func (h *handler) jsonError(w http.ResponseWriter, r *http.Request, err error) {
	status, _ := statusOf(err)
	setRetryAfter(w, err)
	detail := ""
	if status < 500 {
		detail = err.Error()
	} else {
		h.log.Error("console", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"title": http.StatusText(status), "status": status, "detail": detail})
}
