package api

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/issues"
	"github.com/tidings/tidings/ops"
)

// TestProblemMapsEverySentinel is the one mapping of ops errors to HTTP
// statuses, each wrapped as ops wraps them.
func TestProblemMapsEverySentinel(t *testing.T) {
	cases := []struct {
		err        error
		status     int
		field      string
		header     string
		headerWant string
	}{
		{fmt.Errorf("bearer: %w", ops.ErrUnauthenticated), 401, "", "WWW-Authenticate", `Bearer realm="tidings"`},
		{fmt.Errorf("token:x may not work on this list: %w", ops.ErrForbidden), 403, "", "", ""},
		{fmt.Errorf("issue 9: %w", ops.ErrNotFound), 404, "", "", ""},
		{fmt.Errorf("schedule: %w", ops.Invalid("at", "%q is in the past", "2020-01-01 08:00")), 422, "at", "", ""},
		{fmt.Errorf("topics: %w", ops.ErrInvalid), 422, "body", "", ""},
		{fmt.Errorf("issue 3 is sending: %w", ops.ErrConflict), 409, "", "", ""},
		{fmt.Errorf("sign in: %w", &ops.RateLimitError{RetryAfter: 1500 * time.Millisecond}), 429, "", "Retry-After", "2"},
		{fmt.Errorf("sign in: %w", ops.ErrRateLimited), 429, "", "Retry-After", "1"},
		{fmt.Errorf("test copy: %w", ops.ErrUnavailable), 503, "", "", ""},
		{fmt.Errorf("import: %w", &issues.ParseError{File: "a.md", Line: 3, Msg: "no issue number found"}), 422, "body", "", ""},
		{errStatus(http.StatusRequestEntityTooLarge, "too big"), 413, "", "", ""},
		{errors.New("disk I/O error at /var/lib/secret.db"), 500, "", "", ""},
	}
	for _, c := range cases {
		t.Run(fmt.Sprint(c.status, " ", c.err), func(t *testing.T) {
			var logs bytes.Buffer
			rec := httptest.NewRecorder()
			writeProblem(rec, httptest.NewRequest("GET", "/api/v1/x", nil), newTestLogger(&logs), c.err)
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d", rec.Code, c.status)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			if c.header != "" && rec.Header().Get(c.header) != c.headerWant {
				t.Errorf("%s = %q, want %q", c.header, rec.Header().Get(c.header), c.headerWant)
			}
			r := &result{status: rec.Code, body: rec.Body.Bytes()}
			p := r.problem(t)
			if p.Status != c.status || p.Title != http.StatusText(c.status) || p.Type != "about:blank" || p.Detail == "" {
				t.Errorf("problem %+v", p)
			}
			if c.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != c.field) {
				t.Errorf("errors %+v, want field %q", p.Errors, c.field)
			}
			if c.status == 500 {
				if strings.Contains(rec.Body.String(), "secret.db") {
					t.Errorf("500 leaks the cause: %s", rec.Body)
				}
				if n := strings.Count(logs.String(), "api request failed"); n != 1 {
					t.Errorf("500 logged %d times, want once: %s", n, logs.String())
				}
			} else if logs.Len() > 0 {
				t.Errorf("a %d is logged: %s", c.status, logs.String())
			}
		})
	}
}

// TestParseErrorNamesTheLine: a Markdown import that does not parse is a
// 422 whose problem names the line.
func TestParseErrorNamesTheLine(t *testing.T) {
	rec := httptest.NewRecorder()
	writeProblem(rec, httptest.NewRequest("POST", "/", nil), newTestLogger(&bytes.Buffer{}),
		fmt.Errorf("import: %w", &issues.ParseError{File: "a.md", Line: 3, Msg: "no issue number found"}))
	p := (&result{status: rec.Code, body: rec.Body.Bytes()}).problem(t)
	if p.Errors[0].Problem != "line 3: no issue number found" || !strings.Contains(p.Detail, "a.md:3") {
		t.Errorf("problem %+v", p)
	}
}
