package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// waitJob polls a job until it is done or failed.
func waitJob(t *testing.T, e *env, id any) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var j map[string]any
		e.call(asAdmin, "GET", fmt.Sprintf("/jobs/%v", id), nil).json(t, &j)
		if j["state"] == "done" || j["state"] == "failed" {
			return j
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %v still %v", id, j["state"])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func subscriberCount(t *testing.T, e *env) int {
	t.Helper()
	var page struct{ Subscribers []any }
	e.call(asAdmin, "GET", "/lists/alpha/subscribers?limit=500", nil).json(t, &page)
	return len(page.Subscribers)
}

// TestAdminImportsAndExports: a CSV dry run stores nothing, the real
// import adds the rows, an export job's output holds every subscriber.
func TestAdminImportsAndExports(t *testing.T) {
	e := newEnv(t)
	r := e.call(asAdmin, "POST", "/lists/alpha/imports?dry_run=1", csvBody(t, "import.csv"))
	if r.status != http.StatusAccepted {
		t.Fatalf("dry run: %d %s", r.status, r.body)
	}
	var j map[string]any
	r.json(t, &j)
	if r.header.Get("Location") != fmt.Sprintf("%s/jobs/%v", Prefix, j["id"]) {
		t.Errorf("Location %q", r.header.Get("Location"))
	}
	j = waitJob(t, e, j["id"])
	if j["state"] != "done" || j["dry_run"] != true {
		t.Errorf("dry run job: %v", j)
	}
	if n := subscriberCount(t, e); n != 3 {
		t.Errorf("a dry run stored subscribers: %d, want 3", n)
	}

	bad := raw{ctype: "text/csv", data: "email,name\nzoe@example.org,Zoe\nnot-an-address,X\n"}
	e.call(asAdmin, "POST", "/lists/alpha/imports", bad).json(t, &j)
	j = waitJob(t, e, j["id"])
	errs, _ := j["errors"].([]any)
	if len(errs) != 1 || !strings.Contains(fmt.Sprint(errs[0]), "line:3") {
		t.Errorf("import error report: %v", j)
	}
	if n := subscriberCount(t, e); n != 4 {
		t.Errorf("after importing one good row: %d subscribers, want 4", n)
	}

	e.call(asAdmin, "POST", "/lists/alpha/exports", nil).json(t, &j)
	j = waitJob(t, e, j["id"])
	out := e.call(asAdmin, "GET", fmt.Sprintf("/jobs/%v/output", j["id"]), nil)
	if out.status != http.StatusOK || !strings.HasPrefix(out.header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export output: %d %q", out.status, out.header.Get("Content-Type"))
	}
	for _, addr := range []string{"ann@example.org", "bob@example.org", "cat@example.org", "zoe@example.org"} {
		if !strings.Contains(string(out.body), addr) {
			t.Errorf("export lacks %s:\n%s", addr, out.body)
		}
	}
}

// TestAdminManagesListsTopicsAndPeople walks the admin's CLI tasks over
// the API: a list with settings, topics with keywords, a subscriber's
// status, erasure, users, tokens and the audit log naming the token.
func TestAdminManagesListsTopicsAndPeople(t *testing.T) {
	e := newEnv(t)
	r := e.call(asAdmin, "POST", "/lists", map[string]any{"slug": "gamma", "name": "Gamma 简报", "from": "Gamma <news@gamma.example.org>", "lang": "en", "tz": "Asia/Tokyo"})
	if r.status != http.StatusCreated {
		t.Fatalf("create list: %d %s", r.status, r.body)
	}
	var l map[string]any
	e.call(asAdmin, "PATCH", "/lists/gamma", map[string]any{"clicks": "off", "opens": "aggregate", "reply_to": "desk@gamma.example.org"}).json(t, &l)
	if l["clicks"] != "off" || l["opens"] != "aggregate" || l["reply_to"] != "desk@gamma.example.org" || l["tz"] != "Asia/Tokyo" || l["lang"] != "en" {
		t.Errorf("list after PATCH: %v", l)
	}

	var tp map[string]any
	e.call(asAdmin, "POST", "/lists/gamma/topics", map[string]any{"slug": "tech", "name": "Tech", "keywords": []string{"chip"}}).json(t, &tp)
	e.call(asAdmin, "PATCH", "/lists/gamma/topics/tech", map[string]any{"keywords": []string{"chip", "quantum"}}).json(t, &tp)
	if fmt.Sprint(tp["keywords"]) != "[chip quantum]" {
		t.Errorf("topic after PATCH: %v", tp)
	}
	var hits struct{ Hits []map[string]any }
	e.call(asAdmin, "GET", "/lists/alpha/keyword-preview?keywords=电池", nil).json(t, &hits)
	if len(hits.Hits) != 1 || hits.Hits[0]["position"] != float64(1) {
		t.Errorf("keyword preview: %+v", hits)
	}
	if r := e.call(asAdmin, "DELETE", "/lists/gamma/topics/tech", nil); r.status != http.StatusNoContent {
		t.Errorf("delete topic: %d", r.status)
	}
	if r := e.call(asAdmin, "DELETE", "/lists/gamma", nil); r.status != http.StatusNoContent {
		t.Errorf("delete empty list: %d %s", r.status, r.body)
	}

	var row map[string]any
	e.call(asEditor, "PATCH", "/lists/alpha/subscribers/ann@example.org", map[string]any{"status": "unsubscribed"}).json(t, &row)
	if row["status"] != "unsubscribed" {
		t.Errorf("after unsubscribing: %v", row)
	}
	var person struct {
		Lists   []map[string]any
		History []map[string]any
	}
	e.call(asEditor, "GET", "/subscribers/ann@example.org", nil).json(t, &person)
	if len(person.Lists) != 1 || person.Lists[0]["status"] != "unsubscribed" || len(person.History) == 0 {
		t.Errorf("person: %+v", person)
	}
	if r := e.call(asAdmin, "DELETE", "/subscribers/ann@example.org", nil); r.status != http.StatusNoContent {
		t.Fatalf("erase: %d %s", r.status, r.body)
	}
	if r := e.call(asAdmin, "GET", "/subscribers/ann@example.org", nil); r.status != http.StatusNotFound {
		t.Errorf("erased person still found: %d", r.status)
	}

	var u map[string]any
	e.call(asAdmin, "POST", "/users", map[string]any{"email": "new@example.org", "role": "editor", "lists": []string{"alpha"}}).json(t, &u)
	if link, _ := u["sign_in_link"].(string); link == "" || fmt.Sprint(u["lists"]) != "[alpha]" {
		t.Errorf("new user without password: %v", u)
	}

	var tk map[string]any
	e.call(asAdmin, "POST", "/tokens", map[string]any{"name": "ci", "role": "editor", "lists": []string{"beta"}}).json(t, &tk)
	secret, _ := tk["token"].(string)
	if secret == "" {
		t.Fatalf("new token: %v", tk)
	}
	fixture.tokens["ci"] = secret
	defer delete(fixture.tokens, "ci")
	var ls []map[string]any
	e.call("ci", "GET", "/lists", nil).json(t, &ls)
	if len(ls) != 1 || ls[0]["slug"] != "beta" {
		t.Errorf("the new token sees %v", ls)
	}

	var audit struct {
		Entries []map[string]any
		Next    *string
	}
	e.call(asAdmin, "GET", "/audit?limit=500", nil).json(t, &audit)
	var actions []string
	for _, en := range audit.Entries {
		if en["actor_kind"] == "token" && en["actor"] == "admin" {
			actions = append(actions, fmt.Sprint(en["action"]))
			if en["ip"] != "127.0.0.1" {
				t.Errorf("audit entry without the client's address: %v", en)
			}
		}
	}
	for _, want := range []string{"list.add", "list.set", "topic.add", "subscriber.delete", "user.add", "token.add"} {
		if !slices.Contains(actions, want) {
			t.Errorf("audit log lacks %s by token:admin; has %v", want, actions)
		}
	}
	if strings.Contains(fmt.Sprint(audit.Entries), "ann@example.org") {
		t.Errorf("the audit log names an erased reader")
	}
}

// TestSendControls: pause, resume and cancel of a running send answer the
// status after the change; a send of an issue already sending conflicts.
func TestSendControls(t *testing.T) {
	e := newEnv(t)
	id := fixture.ids["alpha7"]
	if r := e.call(asEditor, "POST", fmt.Sprintf("/issues/%d/send", id), nil); r.status != http.StatusAccepted {
		t.Fatalf("send: %d %s", r.status, r.body)
	}
	if r := e.call(asEditor, "POST", fmt.Sprintf("/issues/%d/send", id), nil); r.status != http.StatusConflict {
		t.Errorf("second send: %d %s", r.status, r.body)
	}
	for _, step := range []struct {
		verb string
		want int
	}{{"pause", http.StatusOK}, {"resume", http.StatusOK}, {"pause", http.StatusOK}, {"cancel", http.StatusOK}, {"resume", http.StatusConflict}} {
		r := e.call(asEditor, "POST", fmt.Sprintf("/issues/%d/send/%s", id, step.verb), nil)
		if r.status != step.want {
			t.Errorf("%s: %d, want %d: %s", step.verb, r.status, step.want, r.body)
		}
	}
	var is struct{ Status string }
	e.call(asEditor, "GET", fmt.Sprintf("/issues/%d", id), nil).json(t, &is)
	if is.Status != "draft" {
		t.Errorf("a send cancelled before any mail went out leaves the issue %q, want draft", is.Status)
	}
}

// TestSubscriberChangeIsAllOrNothing: topics and status in one PATCH are
// both applied or neither, whichever part is refused.
func TestSubscriberChangeIsAllOrNothing(t *testing.T) {
	e := newEnv(t)
	read := func() string {
		var p struct{ Lists []map[string]any }
		e.call(asAdmin, "GET", "/subscribers/cat@example.org", nil).json(t, &p)
		return fmt.Sprintf("%v %v", p.Lists[0]["status"], p.Lists[0]["topics"])
	}
	before := read()
	// An editor may not set a reader back to pending: 403, topics kept.
	r := e.call(asEditor, "PATCH", "/lists/alpha/subscribers/cat@example.org", map[string]any{"topics": []string{"energy"}, "status": "pending"})
	if r.status != http.StatusForbidden {
		t.Errorf("editor sets pending: %d %s", r.status, r.body)
	}
	// An unknown topic: 422, status kept.
	r = e.callBad(asEditor, "PATCH", "/lists/alpha/subscribers/cat@example.org", map[string]any{"topics": []string{"nope"}, "status": "blocked"})
	if r.status != http.StatusUnprocessableEntity {
		t.Errorf("unknown topic: %d %s", r.status, r.body)
	}
	if after := read(); after != before {
		t.Errorf("a refused change was half stored: %s, was %s", after, before)
	}
	var row map[string]any
	e.call(asEditor, "PATCH", "/lists/alpha/subscribers/cat@example.org", map[string]any{"topics": []string{"energy", "biomed"}, "status": "blocked"}).json(t, &row)
	if got := fmt.Sprintf("%v %v", row["status"], row["topics"]); got != "blocked [biomed energy]" && got != "blocked [energy biomed]" {
		t.Errorf("both changes: %v", row)
	}
}
