package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// badCase is a bad input to one route: the status and field the problem
// must name, and a read-back that proves nothing was stored.
type badCase struct {
	name   string
	method string
	path   string
	body   any
	status int
	field  string // the field errors[0] names (422 only)
}

const unprocessable = http.StatusUnprocessableEntity

func jsonRaw(s string) raw { return raw{ctype: "application/json", data: s} }

func badCases(t *testing.T) []badCase {
	return []badCase{
		// Request bodies in general.
		{"syntax error", "POST", "/lists", jsonRaw(`{"slug": "g",`), unprocessable, "body"},
		{"trailing data", "POST", "/lists", jsonRaw(`{"slug":"g","name":"G","from":"G <g@g.example.org>"} {}`), unprocessable, "body"},
		{"not an object", "POST", "/lists", jsonRaw(`["g"]`), unprocessable, "body"},
		{"empty body", "POST", "/lists", jsonRaw(``), unprocessable, "body"},
		{"form body", "POST", "/lists", raw{"application/x-www-form-urlencoded", "slug=g"}, http.StatusUnsupportedMediaType, ""},
		{"too large", "POST", "/lists", jsonRaw(`{"slug":"` + strings.Repeat("g", maxJSONBody) + `"}`), http.StatusRequestEntityTooLarge, ""},

		// Lists.
		{"list unknown field", "POST", "/lists", map[string]any{"slug": "g", "name": "G", "from": "G <g@g.example.org>", "colour": "red"}, unprocessable, "colour"},
		{"list slug not a string", "POST", "/lists", map[string]any{"slug": 7, "name": "G", "from": "G <g@g.example.org>"}, unprocessable, "slug"},
		{"list without name", "POST", "/lists", map[string]any{"slug": "g", "from": "G <g@g.example.org>"}, unprocessable, "name"},
		{"list bad lang", "POST", "/lists", map[string]any{"slug": "g", "name": "G", "from": "G <g@g.example.org>", "lang": "fr"}, unprocessable, "lang"},
		{"list bad from", "POST", "/lists", map[string]any{"slug": "g", "name": "G", "from": "nobody"}, unprocessable, "from"},
		{"list slug taken", "POST", "/lists", map[string]any{"slug": "alpha", "name": "G", "from": "G <g@g.example.org>"}, http.StatusConflict, ""},
		{"list set bad clicks", "PATCH", "/lists/alpha", map[string]any{"name": "改了", "clicks": "everything"}, unprocessable, "clicks"},
		{"list set slug", "PATCH", "/lists/alpha", map[string]any{"slug": "omega"}, unprocessable, "slug"},
		{"list set bad zone", "PATCH", "/lists/alpha", map[string]any{"name": "改了", "tz": "Mars/Olympus"}, unprocessable, "tz"},
		{"list set half a DKIM key", "PATCH", "/lists/alpha", map[string]any{"dkim_selector": "s1"}, unprocessable, "dkim_key"},
		{"list set activity days", "PATCH", "/lists/alpha", map[string]any{"activity_days": 0}, unprocessable, "activity_days"},
		{"list set unknown list", "PATCH", "/lists/nope", map[string]any{"name": "X"}, http.StatusNotFound, ""},
		{"list rm with subscribers", "DELETE", "/lists/alpha", nil, http.StatusConflict, ""},
		{"list rm bad force", "DELETE", "/lists/alpha?force=perhaps", nil, unprocessable, "force"},

		// Topics.
		{"topic without slug", "POST", "/lists/alpha/topics", map[string]any{"name": "X"}, unprocessable, "slug"},
		{"topic keywords not an array", "POST", "/lists/alpha/topics", map[string]any{"slug": "x", "name": "X", "keywords": "a,b"}, unprocessable, "keywords"},
		{"topic taken", "POST", "/lists/alpha/topics", map[string]any{"slug": "energy", "name": "X"}, http.StatusConflict, ""},
		{"topic empty name", "PATCH", "/lists/alpha/topics/energy", map[string]any{"name": " "}, unprocessable, "name"},
		{"topic unknown", "PATCH", "/lists/alpha/topics/nope", map[string]any{"name": "X"}, http.StatusNotFound, ""},
		{"keyword preview without keywords", "GET", "/lists/alpha/keyword-preview", nil, unprocessable, "keywords"},
		{"keyword preview last 0", "GET", "/lists/alpha/keyword-preview?keywords=a&last=0", nil, unprocessable, "last"},

		// Issues and articles.
		{"issues of unknown list", "GET", "/issues?list=nope", nil, http.StatusNotFound, ""},
		{"issues without a list of two", "GET", "/issues", nil, unprocessable, "list"},
		{"import without number", "POST", "/lists/alpha/issues", markdown(t, "no-number.md"), unprocessable, "body"},
		{"import as JSON", "POST", "/lists/alpha/issues", jsonRaw(`{"markdown":"# x"}`), http.StatusUnsupportedMediaType, ""},
		{"import too large", "POST", "/lists/alpha/issues", raw{"text/markdown", "# X\n\n" + strings.Repeat("文", maxFileBody/3+1)}, http.StatusRequestEntityTooLarge, ""},
		{"import empty", "POST", "/lists/alpha/issues", raw{"text/markdown", ""}, unprocessable, "body"},
		{"import same number", "POST", "/lists/alpha/issues", markdown(t, "alpha-7.md"), http.StatusConflict, ""},
		{"issue id not a number", "GET", "/issues/seven", nil, unprocessable, "id"},
		{"issue id zero", "GET", "/issues/0", nil, unprocessable, "id"},
		{"issue unknown", "GET", "/issues/999", nil, http.StatusNotFound, ""},
		{"article unknown topic", "PATCH", "/issues/{issue}/articles/1", map[string]any{"topics": []string{"nope"}}, unprocessable, "topics"},
		{"article topics not an array", "PATCH", "/issues/{issue}/articles/1", map[string]any{"topics": "energy"}, unprocessable, "topics"},
		{"article empty title", "PATCH", "/issues/{issue}/articles/1", map[string]any{"title": ""}, unprocessable, "title"},
		{"article nothing to change", "PATCH", "/issues/{issue}/articles/1", map[string]any{}, unprocessable, "body"},
		{"article position 0", "PATCH", "/issues/{issue}/articles/0", map[string]any{"title": "X"}, unprocessable, "position"},
		{"article position past the end", "PATCH", "/issues/{issue}/articles/9", map[string]any{"title": "X"}, unprocessable, "position"},

		// Audience, preview, test copies.
		{"audience unknown issue", "GET", "/issues/999/audience", nil, http.StatusNotFound, ""},
		{"preview for nobody", "GET", "/issues/{issue}/preview", nil, unprocessable, "email"},
		{"preview for both", "GET", "/issues/{issue}/preview?email=ann@example.org&topics=energy", nil, unprocessable, "topics"},
		{"preview unknown reader", "GET", "/issues/{issue}/preview?email=zed@example.org", nil, unprocessable, "email"},
		{"preview.eml for nobody", "GET", "/issues/{issue}/preview.eml", nil, unprocessable, "email"},
		{"preview unknown topic", "GET", "/issues/{issue}/preview?topics=nope", nil, unprocessable, "topics"},
		{"test to nobody", "POST", "/issues/{issue}/test", map[string]any{"to": []string{}}, unprocessable, "to"},
		{"test to a non-address", "POST", "/issues/{issue}/test", map[string]any{"to": []string{"editor"}}, unprocessable, "to"},
		{"test to as a string", "POST", "/issues/{issue}/test", map[string]any{"to": "ed@example.org"}, unprocessable, "to"},
		{"test as unknown reader", "POST", "/issues/{issue}/test", map[string]any{"to": []string{"ed@example.org"}, "as": "zed@example.org"}, unprocessable, "as"},

		// Schedules and sends.
		{"schedule without at", "POST", "/issues/{issue}/schedule", map[string]any{}, unprocessable, "at"},
		{"schedule at nonsense", "POST", "/issues/{issue}/schedule", map[string]any{"at": "next tuesday"}, unprocessable, "at"},
		{"schedule in the past", "POST", "/issues/{issue}/schedule", map[string]any{"at": "2020-01-01 08:00"}, unprocessable, "at"},
		{"schedule bad zone", "POST", "/issues/{issue}/schedule", map[string]any{"at": "2026-12-07 08:00", "tz": "Mars/Olympus"}, unprocessable, "tz"},
		{"cron out of range", "POST", "/lists/alpha/schedules", map[string]any{"cron": "61 * * * *"}, unprocessable, "cron"},
		{"cron bare zone", "POST", "/lists/alpha/schedules", map[string]any{"cron": "CRON_TZ=UTC"}, unprocessable, "cron"},
		{"schedule rm unknown", "DELETE", "/schedules/999", nil, http.StatusNotFound, ""},
		{"schedule rm not a number", "DELETE", "/schedules/x", nil, unprocessable, "id"},
		{"status failures negative", "GET", "/issues/{issue}/status?failures=-1", nil, unprocessable, "failures"},
		{"send unknown issue", "POST", "/issues/999/send", nil, http.StatusNotFound, ""},
		{"trend last 0", "GET", "/lists/alpha/trend?last=0", nil, unprocessable, "last"},
		{"report unknown issue", "GET", "/issues/999/report", nil, http.StatusNotFound, ""},

		// Subscribers.
		{"subscribers bad status", "GET", "/lists/alpha/subscribers?status=gone", nil, unprocessable, "status"},
		{"subscribers limit too big", "GET", "/lists/alpha/subscribers?limit=100000", nil, unprocessable, "limit"},
		{"subscribers bad cursor", "GET", "/lists/alpha/subscribers?cursor=not-a-cursor", nil, unprocessable, "cursor"},
		{"subscriber bad email", "POST", "/lists/alpha/subscribers", map[string]any{"email": "not-an-address"}, unprocessable, "email"},
		{"subscriber unknown topic", "POST", "/lists/alpha/subscribers", map[string]any{"email": "x@example.org", "topics": []string{"nope"}}, unprocessable, "topics"},
		{"subscriber all and more", "POST", "/lists/alpha/subscribers", map[string]any{"email": "x@example.org", "topics": []string{"all", "energy"}}, unprocessable, "topics"},
		{"subscriber change bad status", "PATCH", "/lists/alpha/subscribers/ann@example.org", map[string]any{"status": "gone"}, unprocessable, "status"},
		{"subscriber change nothing", "PATCH", "/lists/alpha/subscribers/ann@example.org", map[string]any{}, unprocessable, "body"},
		{"subscriber change half bad", "PATCH", "/lists/alpha/subscribers/ann@example.org", map[string]any{"topics": []string{"nope"}, "status": "unsubscribed"}, unprocessable, "topics"},
		{"subscriber change unknown", "PATCH", "/lists/alpha/subscribers/zed@example.org", map[string]any{"status": "blocked"}, http.StatusNotFound, ""},
		{"subscriber unknown", "GET", "/subscribers/zed@example.org", nil, http.StatusNotFound, ""},
		{"subscriber erase unknown", "DELETE", "/subscribers/zed@example.org", nil, http.StatusNotFound, ""},

		// Imports, exports, jobs, bounces.
		{"import CSV as JSON", "POST", "/lists/alpha/imports", jsonRaw(`[]`), http.StatusUnsupportedMediaType, ""},
		{"import CSV too large", "POST", "/lists/alpha/imports", raw{"text/csv", "email\n" + strings.Repeat("a@example.org\n", maxFileBody/14+1)}, http.StatusRequestEntityTooLarge, ""},
		{"import empty CSV", "POST", "/lists/alpha/imports", raw{"text/csv", ""}, unprocessable, "body"},
		{"import bad dry_run", "POST", "/lists/alpha/imports?dry_run=perhaps", csvBody(t, "import.csv"), unprocessable, "dry_run"},
		{"import unknown default topic", "POST", "/lists/alpha/imports?topics=nope", csvBody(t, "import.csv"), unprocessable, "topics"},
		{"export bad format", "POST", "/lists/alpha/exports?format=xml", nil, unprocessable, "format"},
		{"job unknown", "GET", "/jobs/999", nil, http.StatusNotFound, ""},
		{"job not a number", "GET", "/jobs/x/output", nil, unprocessable, "id"},
		{"bounces bad kind", "GET", "/lists/alpha/bounces?kind=weird", nil, unprocessable, "kind"},

		// Path values that name nothing.
		{"list unknown", "GET", "/lists/nope", nil, http.StatusNotFound, ""},
		{"topics of unknown list", "GET", "/lists/nope/topics", nil, http.StatusNotFound, ""},
		{"topic rm unknown", "DELETE", "/lists/alpha/topics/nope", nil, http.StatusNotFound, ""},
		{"retag unknown issue", "POST", "/issues/999/retag", nil, http.StatusNotFound, ""},
		{"ready unknown issue", "POST", "/issues/999/ready", nil, http.StatusNotFound, ""},
		{"recurring on unknown list", "POST", "/lists/nope/schedules", map[string]any{"cron": "0 8 * * 1"}, http.StatusNotFound, ""},
		{"schedules of unknown list", "GET", "/schedules?list=nope", nil, http.StatusNotFound, ""},
		{"pause unknown issue", "POST", "/issues/999/send/pause", nil, http.StatusNotFound, ""},
		{"resume unknown issue", "POST", "/issues/999/send/resume", nil, http.StatusNotFound, ""},
		{"cancel unknown issue", "POST", "/issues/999/send/cancel", nil, http.StatusNotFound, ""},
		{"retry unknown issue", "POST", "/issues/999/send/retry", nil, http.StatusNotFound, ""},
		{"retry an issue never sent", "POST", "/issues/{issue}/send/retry", nil, http.StatusConflict, ""},
		{"status unknown issue", "GET", "/issues/999/status", nil, http.StatusNotFound, ""},
		{"report.csv unknown issue", "GET", "/issues/999/report.csv", nil, http.StatusNotFound, ""},
		{"trend of unknown list", "GET", "/lists/nope/trend", nil, http.StatusNotFound, ""},
		{"issue import into unknown list", "POST", "/lists/nope/issues", markdown(t, "alpha-8.md"), http.StatusNotFound, ""},
		{"subscriber on unknown list", "POST", "/lists/nope/subscribers", map[string]any{"email": "x@example.org"}, http.StatusNotFound, ""},
		{"export of unknown list", "POST", "/lists/nope/exports", nil, http.StatusNotFound, ""},
		{"bounces of unknown list", "GET", "/lists/nope/bounces", nil, http.StatusNotFound, ""},
		{"delete unknown list", "DELETE", "/lists/nope", nil, http.StatusNotFound, ""},

		// Users, tokens, audit.
		{"user bad role", "POST", "/users", map[string]any{"email": "x@example.org", "role": "boss"}, unprocessable, "role"},
		{"user bad email", "POST", "/users", map[string]any{"email": "x", "role": "editor"}, unprocessable, "email"},
		{"user unknown list", "POST", "/users", map[string]any{"email": "x@example.org", "role": "editor", "lists": []string{"nope"}}, unprocessable, "lists"},
		{"user taken", "POST", "/users", map[string]any{"email": "ed@example.org", "role": "editor"}, http.StatusConflict, ""},
		{"user rm unknown", "DELETE", "/users/zed@example.org", nil, http.StatusNotFound, ""},
		{"user set bad role", "PATCH", "/users/ed@example.org", map[string]any{"role": "boss"}, unprocessable, "role"},
		{"user set unknown list", "PATCH", "/users/ed@example.org", map[string]any{"lists": []string{"nope"}}, unprocessable, "lists"},
		{"user set all and more", "PATCH", "/users/ed@example.org", map[string]any{"lists": []string{"all", "alpha"}}, unprocessable, "lists"},
		{"user set nothing", "PATCH", "/users/ed@example.org", map[string]any{}, unprocessable, "body"},
		{"user set unknown field", "PATCH", "/users/ed@example.org", map[string]any{"password": "x"}, unprocessable, "password"},
		{"user set unknown", "PATCH", "/users/zed@example.org", map[string]any{"role": "admin"}, http.StatusNotFound, ""},
		{"user link unknown", "POST", "/users/zed@example.org/link", nil, http.StatusNotFound, ""},
		{"token without name", "POST", "/tokens", map[string]any{"name": "", "role": "editor"}, unprocessable, "name"},
		{"token lists not an array", "POST", "/tokens", map[string]any{"name": "x", "role": "editor", "lists": "alpha"}, unprocessable, "lists"},
		{"token taken", "POST", "/tokens", map[string]any{"name": "spare", "role": "editor"}, http.StatusConflict, ""},
		{"token rm unknown", "DELETE", "/tokens/nope", nil, http.StatusNotFound, ""},
		{"audit limit 0", "GET", "/audit?limit=0", nil, unprocessable, "limit"},
	}
}

// noInput are the routes that take no input a caller could get wrong.
var noInput = []string{"GET /openapi.json", "GET /me", "GET /home", "GET /lists", "GET /users", "GET /tokens"}

// TestEveryRouteHasBadInputCases: each route that takes a body, a path
// value or a query parameter has at least one bad-input case.
func TestEveryRouteHasBadInputCases(t *testing.T) {
	mux := http.NewServeMux()
	for _, r := range routes {
		mux.HandleFunc(r.Method+" "+Prefix+r.Path, func(http.ResponseWriter, *http.Request) {})
	}
	covered := map[string]bool{}
	for _, c := range badCases(t) {
		req := httptest.NewRequest(c.method, Prefix+fill(c.path), nil)
		_, pattern := mux.Handler(req)
		covered[pattern] = true
	}
	for _, r := range routes {
		key := r.Method + " " + r.Path
		if !covered[r.Method+" "+Prefix+r.Path] && !slices.Contains(noInput, key) {
			t.Errorf("route %s has no bad-input case", key)
		}
	}
}

// snapshot is what a bad request must leave as it was, read through the
// API: lists, topics, issues, articles, schedules, subscribers, users,
// tokens, jobs and the audit log.
func snapshot(e *env) string {
	e.t.Helper()
	var b strings.Builder
	for _, p := range []string{
		"/lists", "/lists/alpha/topics", "/issues?list=alpha", "/issues/{issue}", "/schedules",
		"/lists/alpha/subscribers", "/subscribers/ann@example.org", "/users", "/tokens", "/audit?limit=500",
	} {
		r := e.call(asAdmin, "GET", fill(p), nil)
		fmt.Fprintf(&b, "%s %d %s\n", p, r.status, r.body)
	}
	return b.String()
}

// TestBadInputIsRefusedAndNothingStored sends every bad input, checks
// the status and the field its problem names, and reads everything back
// to prove that nothing was stored.
func TestBadInputIsRefusedAndNothingStored(t *testing.T) {
	for _, c := range badCases(t) {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			before := snapshot(e)
			r := e.callBad(asAdmin, c.method, fill(c.path), c.body)
			if r.status != c.status {
				t.Fatalf("%s %s = %d, want %d: %s", c.method, c.path, r.status, c.status, r.body)
			}
			if c.field != "" {
				if p := r.problem(t); len(p.Errors) == 0 || p.Errors[0].Field != c.field {
					t.Errorf("errors = %+v, want field %q", p.Errors, c.field)
				}
			}
			if after := snapshot(e); after != before {
				t.Errorf("a refused request changed what is stored:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			if e.sink.Count() != 0 {
				t.Errorf("a refused request sent %d messages", e.sink.Count())
			}
		})
	}
}
