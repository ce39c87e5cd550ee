package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/tidings/tidings/issues"
	"github.com/tidings/tidings/ops"
)

// Problem is an RFC 9457 problem details document.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	// Errors names the bad fields of a 422.
	Errors []FieldProblem `json:"errors,omitempty"`
}

// FieldProblem is one bad field of a request.
type FieldProblem struct {
	Field   string `json:"field"`
	Problem string `json:"problem"`
}

// problemType is "about:blank": the status and its title say what kind of
// failure it is (RFC 9457 section 4.2.1), detail says what exactly.
const problemType = "about:blank"

// httpError is an error the API itself decides (a bad path value, a body
// too large, a wrong content type), with the status it maps to.
type httpError struct {
	status int
	detail string
	fields []FieldProblem
}

func (e *httpError) Error() string { return e.detail }

func errStatus(status int, format string, a ...any) error {
	return &httpError{status: status, detail: fmt.Sprintf(format, a...)}
}

// invalid is a 422 naming one field, the same shape ops.FieldError takes.
func invalid(field, format string, a ...any) error {
	return ops.Invalid(field, format, a...)
}

// problemFor is the ONE mapping of errors to HTTP statuses. Errors that
// match no sentinel are the server's fault: 500, logged once here, with no
// internals in the answer.
func problemFor(err error, log *slog.Logger, r *http.Request) (Problem, http.Header) {
	h := http.Header{}
	p := Problem{Detail: err.Error()}
	var he *httpError
	var fe *ops.FieldError
	var rl *ops.RateLimitError
	var pe *issues.ParseError
	switch {
	case errors.As(err, &he):
		p.Status = he.status
		p.Errors = he.fields
	case errors.As(err, &pe):
		// A Markdown import that does not parse: the line is the field.
		p.Status = http.StatusUnprocessableEntity
		prob := pe.Msg
		if pe.Line > 0 {
			prob = "line " + strconv.Itoa(pe.Line) + ": " + pe.Msg
		}
		p.Detail = pe.Error()
		p.Errors = []FieldProblem{{Field: "body", Problem: prob}}
	case errors.Is(err, ops.ErrUnauthenticated):
		p.Status = http.StatusUnauthorized
		h.Set("WWW-Authenticate", `Bearer realm="tidings"`)
	case errors.Is(err, ops.ErrForbidden):
		p.Status = http.StatusForbidden
	case errors.Is(err, ops.ErrNotFound):
		p.Status = http.StatusNotFound
	case errors.Is(err, ops.ErrInvalid):
		p.Status = http.StatusUnprocessableEntity
		if errors.As(err, &fe) {
			p.Errors = []FieldProblem{{Field: fe.Field, Problem: fe.Problem}}
		} else {
			p.Errors = []FieldProblem{{Field: "body", Problem: err.Error()}}
		}
	case errors.Is(err, ops.ErrConflict):
		p.Status = http.StatusConflict
	case errors.Is(err, ops.ErrRateLimited):
		p.Status = http.StatusTooManyRequests
		secs := 1
		if errors.As(err, &rl) {
			secs = max(1, int(math.Ceil(rl.RetryAfter.Seconds())))
		}
		h.Set("Retry-After", strconv.Itoa(secs))
	case errors.Is(err, ops.ErrUnavailable):
		p.Status = http.StatusServiceUnavailable
	default:
		p.Status = http.StatusInternalServerError
		p.Detail = "internal error: the server log has the cause"
		log.ErrorContext(r.Context(), "api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	p.Type, p.Title = problemType, http.StatusText(p.Status)
	return p, h
}

// writeProblem answers err as a problem document.
func writeProblem(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	p, h := problemFor(err, log, r)
	for k, v := range h {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	b, _ := json.Marshal(p)
	w.Write(append(b, '\n'))
}
