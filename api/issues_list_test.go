package api

import (
	"strings"
	"testing"
)

// GET /issues without ?list= on a database of several lists says what an
// API client should send, not the command line's "--list".
func TestIssuesWithoutListNamesTheQueryParameter(t *testing.T) {
	e := newEnv(t)
	p := e.callBad(asAdmin, "GET", "/issues", nil).problem(t)
	if p.Status != 422 || len(p.Errors) != 1 || p.Errors[0].Field != "list" ||
		!strings.Contains(p.Detail, "?list=") || strings.Contains(p.Detail, "--list") {
		t.Errorf("problem %+v", p)
	}
}
