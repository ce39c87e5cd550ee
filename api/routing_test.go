package api

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tidings/tidings"
)

// TestUnknownPathsAndMethodsAreProblems: a path the API does not have is
// a 404 problem, a known path with another method a 405 with Allow.
func TestUnknownPathsAndMethodsAreProblems(t *testing.T) {
	e := newEnv(t)
	r := e.call(asAdmin, "GET", "/no-such-thing", nil)
	if r.status != http.StatusNotFound {
		t.Errorf("unknown path: %d", r.status)
	}
	r = e.call(asAdmin, "PUT", "/lists", nil)
	if r.status != http.StatusMethodNotAllowed || !strings.Contains(r.header.Get("Allow"), "GET") || !strings.Contains(r.header.Get("Allow"), "POST") {
		t.Errorf("PUT /lists: %d Allow=%q", r.status, r.header.Get("Allow"))
	}
	r = e.call(asAdmin, "HEAD", "/lists", nil)
	if r.status != http.StatusOK {
		t.Errorf("HEAD /lists: %d", r.status)
	}
}

// TestAuthIsBearerOnly: no header, another scheme, an empty token, a bad
// token and a session cookie are all 401; the OpenAPI document needs none.
func TestAuthIsBearerOnly(t *testing.T) {
	e := newEnv(t)
	for name, set := range map[string]func(*http.Request){
		"no header":    func(*http.Request) {},
		"basic":        func(r *http.Request) { r.SetBasicAuth("admin", fixture.tokens[asAdmin]) },
		"empty bearer": func(r *http.Request) { r.Header.Set("Authorization", "Bearer ") },
		"bad token":    func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+fixture.tokens[asBad]) },
		"token as cookie": func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: "tidings_session", Value: fixture.tokens[asAdmin]})
		},
	} {
		req, _ := http.NewRequest("GET", e.srv.URL+Prefix+"/lists", nil)
		set(req)
		res, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: %d, WWW-Authenticate %q", name, res.StatusCode, res.Header.Get("WWW-Authenticate"))
		}
	}
	// The scheme name is case-insensitive (RFC 9110 section 11.1).
	req, _ := http.NewRequest("GET", e.srv.URL+Prefix+"/lists", nil)
	req.Header.Set("Authorization", "bearer "+fixture.tokens[asAdmin])
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("lower-case bearer: %d", res.StatusCode)
	}
	if r := e.call(asNone, "GET", "/openapi.json", nil); r.status != http.StatusOK {
		t.Errorf("openapi.json without a token: %d", r.status)
	}
}

// TestRevokedTokenStopsWorking: DELETE /tokens/{name} takes effect at once.
func TestRevokedTokenStopsWorking(t *testing.T) {
	e := newEnv(t)
	if r := e.call(asEditor, "GET", "/lists", nil); r.status != http.StatusOK {
		t.Fatalf("editor before revocation: %d", r.status)
	}
	if r := e.call(asAdmin, "DELETE", "/tokens/alpha-editor", nil); r.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := e.call(asEditor, "GET", "/lists", nil); r.status != http.StatusUnauthorized {
		t.Errorf("editor after revocation: %d", r.status)
	}
}

// TestPanicIsAProblem: a handler that panics answers a 500 problem that
// names nothing of the cause, and the cause is logged.
func TestPanicIsAProblem(t *testing.T) {
	var logs bytes.Buffer
	s := &server{log: newTestLogger(&logs)}
	h := s.wrap(route{Public: true, handler: func(*server, http.ResponseWriter, *http.Request, tidings.Actor) error {
		var m map[string]int
		m["boom"]++ // a nil map: a bug
		return nil
	}})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/x", nil))
	if rec.Code != http.StatusInternalServerError || rec.Header().Get("Content-Type") != "application/problem+json" || strings.Contains(rec.Body.String(), "nil map") {
		t.Errorf("panic answered %d %q: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	if !strings.Contains(logs.String(), "nil map") {
		t.Errorf("the panic is not logged: %s", logs.String())
	}
}
