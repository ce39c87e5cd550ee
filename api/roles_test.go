package api

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
)

// roleCase is one route tried as every actor. want holds the status for
// admin, the editor of alpha and the editor of beta; no token and a bad
// token are always 401. Each actor gets a fresh copy of the fixture, so a
// change made by one does not decide another's answer.
type roleCase struct {
	route  string // "METHOD /path/pattern" as in the route table
	path   string // the path called; {issue}, {schedule}, {job} are filled in
	body   any
	admin  int
	editor int
	other  int
}

const (
	ok        = http.StatusOK
	created   = http.StatusCreated
	accepted  = http.StatusAccepted
	done      = http.StatusNoContent
	forbidden = http.StatusForbidden
	notFound  = http.StatusNotFound
	conflict  = http.StatusConflict
)

func markdown(t *testing.T, name string) raw {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return raw{ctype: "text/markdown; charset=utf-8", data: string(b)}
}

func csvBody(t *testing.T, name string) raw {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return raw{ctype: "text/csv", data: string(b)}
}

func roleCases(t *testing.T) []roleCase {
	return []roleCase{
		{"GET /me", "/me", nil, ok, ok, ok},
		{"GET /home", "/home", nil, ok, ok, ok},
		{"GET /lists", "/lists", nil, ok, ok, ok},
		{"POST /lists", "/lists", map[string]any{"slug": "gamma", "name": "Gamma", "from": "Gamma <news@gamma.example.org>"}, created, forbidden, forbidden},
		{"GET /lists/{list}", "/lists/alpha", nil, ok, ok, forbidden},
		{"PATCH /lists/{list}", "/lists/alpha", map[string]any{"name": "Alpha 新名"}, ok, forbidden, forbidden},
		{"DELETE /lists/{list}", "/lists/alpha?force=1", nil, done, forbidden, forbidden},

		{"GET /lists/{list}/topics", "/lists/alpha/topics", nil, ok, ok, forbidden},
		{"POST /lists/{list}/topics", "/lists/alpha/topics", map[string]any{"slug": "policy", "name": "政策", "keywords": []string{"政策"}}, created, forbidden, forbidden},
		{"PATCH /lists/{list}/topics/{topic}", "/lists/alpha/topics/energy", map[string]any{"keywords": []string{"电池", "储能"}}, ok, forbidden, forbidden},
		{"DELETE /lists/{list}/topics/{topic}", "/lists/alpha/topics/biomed", nil, done, forbidden, forbidden},
		{"GET /lists/{list}/keyword-preview", "/lists/alpha/keyword-preview?keywords=电池", nil, ok, ok, forbidden},

		{"GET /issues", "/issues?list=alpha", nil, ok, ok, forbidden},
		{"POST /lists/{list}/issues", "/lists/alpha/issues", markdown(t, "alpha-8.md"), created, created, forbidden},
		{"GET /issues/{id}", "/issues/{issue}", nil, ok, ok, forbidden},
		{"POST /issues/{id}/retag", "/issues/{issue}/retag", nil, ok, ok, forbidden},
		{"POST /issues/{id}/ready", "/issues/{issue}/ready", nil, ok, ok, forbidden},
		{"PATCH /issues/{id}/articles/{position}", "/issues/{issue}/articles/1", map[string]any{"topics": []string{"biomed"}}, ok, ok, forbidden},
		{"GET /issues/{id}/audience", "/issues/{issue}/audience", nil, ok, ok, forbidden},
		{"GET /issues/{id}/preview", "/issues/{issue}/preview?email=ann@example.org", nil, ok, ok, forbidden},
		{"GET /issues/{id}/preview.eml", "/issues/{issue}/preview.eml?topics=all", nil, ok, ok, forbidden},
		{"POST /issues/{id}/test", "/issues/{issue}/test", map[string]any{"to": []string{"ed@example.org"}}, ok, ok, forbidden},

		{"POST /issues/{id}/schedule", "/issues/{issue}/schedule", map[string]any{"at": "2026-12-07 08:00"}, created, created, forbidden},
		{"GET /schedules", "/schedules", nil, ok, ok, ok},
		{"POST /lists/{list}/schedules", "/lists/alpha/schedules", map[string]any{"cron": "0 9 * * 5", "tz": "Asia/Shanghai"}, created, created, forbidden},
		{"DELETE /schedules/{id}", "/schedules/{schedule}", nil, done, done, forbidden},

		{"POST /issues/{id}/send", "/issues/{issue}/send", nil, accepted, accepted, forbidden},
		{"POST /issues/{id}/send/pause", "/issues/{issue}/send/pause", nil, conflict, conflict, forbidden},
		{"POST /issues/{id}/send/resume", "/issues/{issue}/send/resume", nil, conflict, conflict, forbidden},
		{"POST /issues/{id}/send/cancel", "/issues/{issue}/send/cancel", nil, conflict, conflict, forbidden},
		{"POST /issues/{id}/send/retry", "/issues/{issue}/send/retry", nil, conflict, conflict, forbidden},
		{"GET /issues/{id}/status", "/issues/{issue}/status", nil, ok, ok, forbidden},

		{"GET /issues/{id}/report", "/issues/{issue}/report", nil, ok, ok, forbidden},
		{"GET /issues/{id}/report.csv", "/issues/{issue}/report.csv", nil, ok, ok, forbidden},
		{"GET /lists/{list}/trend", "/lists/alpha/trend?last=5", nil, ok, ok, forbidden},

		{"GET /lists/{list}/subscribers", "/lists/alpha/subscribers?status=confirmed", nil, ok, ok, forbidden},
		{"POST /lists/{list}/subscribers", "/lists/alpha/subscribers", map[string]any{"email": "new@example.org", "name": "New", "topics": []string{"energy"}}, created, created, forbidden},
		{"PATCH /lists/{list}/subscribers/{email}", "/lists/alpha/subscribers/ann@example.org", map[string]any{"topics": []string{"all"}}, ok, ok, forbidden},
		{"GET /subscribers/{email}", "/subscribers/ann@example.org", nil, ok, ok, notFound},
		{"DELETE /subscribers/{email}", "/subscribers/ann@example.org", nil, done, forbidden, forbidden},

		{"POST /lists/{list}/imports", "/lists/alpha/imports?dry_run=1", csvBody(t, "import.csv"), accepted, forbidden, forbidden},
		{"POST /lists/{list}/exports", "/lists/alpha/exports?format=json", nil, accepted, forbidden, forbidden},
		// Another list's job is not found: its id says nothing.
		{"GET /jobs/{id}", "/jobs/{job}", nil, ok, forbidden, notFound},
		{"GET /jobs/{id}/output", "/jobs/{job}/output", nil, ok, forbidden, notFound},

		{"GET /lists/{list}/bounces", "/lists/alpha/bounces", nil, ok, ok, forbidden},

		{"GET /users", "/users", nil, ok, forbidden, forbidden},
		{"POST /users", "/users", map[string]any{"email": "new-editor@example.org", "role": "editor", "lists": []string{"alpha"}}, created, forbidden, forbidden},
		{"PATCH /users/{email}", "/users/ed@example.org", map[string]any{"role": "admin"}, ok, forbidden, forbidden},
		{"POST /users/{email}/link", "/users/ed@example.org/link", nil, ok, forbidden, forbidden},
		{"DELETE /users/{email}", "/users/ed@example.org", nil, done, forbidden, forbidden},
		{"GET /tokens", "/tokens", nil, ok, forbidden, forbidden},
		{"POST /tokens", "/tokens", map[string]any{"name": "ci", "role": "editor", "lists": []string{"alpha"}}, created, forbidden, forbidden},
		{"DELETE /tokens/{name}", "/tokens/spare", nil, done, forbidden, forbidden},
		{"GET /audit", "/audit", nil, ok, forbidden, forbidden},
	}
}

// listAdminDiffers is where an admin of alpha alone gets another answer
// than an admin of every list: what concerns no single list.
var listAdminDiffers = map[string]int{
	"POST /lists":              forbidden,
	"GET /users":               forbidden,
	"POST /users":              forbidden,
	"DELETE /users/{email}":    forbidden,
	"PATCH /users/{email}":     forbidden,
	"POST /users/{email}/link": forbidden,
	"GET /tokens":              forbidden,
	"POST /tokens":             forbidden,
	"DELETE /tokens/{name}":    forbidden,
	"GET /audit":               forbidden,
}

// fill puts the fixture's ids into a path.
func fill(path string) string {
	return strings.NewReplacer(
		"{issue}", fmt.Sprint(fixture.ids["alpha7"]),
		"{schedule}", fmt.Sprint(fixture.ids["schedule"]),
		"{job}", fmt.Sprint(fixture.ids["job"]),
	).Replace(path)
}

// TestEveryRouteChecksRoles calls every route as an admin of every list,
// an admin of the list alone, the editor of the list, an editor of another
// list, without a token and with a bad token, and checks the status each
// gets.
func TestEveryRouteChecksRoles(t *testing.T) {
	cases := roleCases(t)
	covered := map[string]bool{}
	for _, c := range cases {
		covered[c.route] = true
	}
	for _, r := range routes {
		if key := r.Method + " " + r.Path; !covered[key] && !r.Public {
			t.Errorf("route %s has no role case", key)
		}
	}
	for _, c := range cases {
		t.Run(c.route, func(t *testing.T) {
			method := strings.Fields(c.route)[0]
			shared := newEnv(t) // for the actors that change nothing
			for _, who := range roles {
				want := map[string]int{asAdmin: c.admin, asEditor: c.editor, asOther: c.other, asNone: http.StatusUnauthorized, asBad: http.StatusUnauthorized}[who]
				if who == asListAdmin {
					want = c.admin
					if w, ok := listAdminDiffers[c.route]; ok {
						want = w
					}
				}
				e := shared
				if want < 300 {
					e = newEnv(t)
				}
				e.t = t
				got := e.call(who, method, fill(c.path), c.body)
				if got.status != want {
					t.Errorf("as %s: %s %s = %d, want %d: %s", who, method, fill(c.path), got.status, want, got.body)
				}
			}
		})
	}
}
