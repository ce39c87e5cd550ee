package console_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/tidings/tidings/ops"
)

// TestEditorCannotReachOtherListsPeopleJobsAndSchedules: beyond issues,
// an editor of another list guessing addresses and ids gets nowhere on
// the people, jobs, schedules, reports, topics and settings of a list:
// 403 where the list is named, and for a person or a job it may not see
// the very answer a made-up one gets (404), so it cannot tell whether
// someone reads the other list. Nothing changes.
func TestEditorCannotReachOtherListsPeopleJobsAndSchedules(t *testing.T) {
	e := newEnv(t, envOpts{})
	is := e.importAs("keji", "keji.md", sample(t))
	admin := e.browser()
	admin.signIn(adminEmail)
	exp := admin.post("/admin/lists/keji/subscribers/export", url.Values{"format": {"csv"}})
	job := exp.header.Get("Location")
	if exp.status != http.StatusSeeOther || !strings.HasPrefix(job, "/admin/jobs/") {
		t.Fatalf("export as admin: %d %q", exp.status, job)
	}
	e.svc.WaitJobs()
	if a := admin.post("/admin/schedules", url.Values{"list": {"keji"}, "cron": {"0 8 * * 1"}}); a.status != http.StatusSeeOther {
		t.Fatalf("recurring schedule as admin: %d", a.status)
	}
	scs, err := e.svc.Schedules(bg, ops.CLI(), "keji")
	if err != nil || len(scs) != 1 {
		t.Fatalf("schedules %v, %v", scs, err)
	}
	sched := strconv.FormatInt(scs[0].ID, 10)
	id := strconv.FormatInt(is.ID, 10)

	b := e.browser()
	b.signIn(otherEmail)
	// A reader of keji only and an address nobody has look the same.
	known, unknown := b.get("/admin/subscribers/care@readers.example"), b.get("/admin/subscribers/nobody@readers.example")
	if known.status != http.StatusNotFound || unknown.status != http.StatusNotFound {
		t.Errorf("person of another list %d, unknown person %d; want 404 both", known.status, unknown.status)
	}
	if strings.ReplaceAll(known.body, "care@readers.example", "nobody@readers.example") != unknown.body {
		t.Error("the person page of another list's reader differs from an unknown address's")
	}
	gets := map[string]int{
		job:                                      http.StatusNotFound,
		job + "/progress.json":                   http.StatusNotFound,
		job + "/download":                        http.StatusNotFound,
		"/admin/issues/" + id + "/report":        http.StatusForbidden,
		"/admin/issues/" + id + "/report.csv":    http.StatusForbidden,
		"/admin/lists/keji/settings":             http.StatusForbidden,
		"/admin/lists/keji/subscribers/import":   http.StatusForbidden,
		"/admin/lists/keji/subscribers.json?q=a": http.StatusForbidden,
	}
	for p, want := range gets {
		if a := b.get(p); a.status != want {
			t.Errorf("GET %s: %d, want %d", p, a.status, want)
		}
	}
	posts := []struct {
		path string
		form url.Values
		want int
	}{
		{"/admin/subscribers/care@readers.example/topics", url.Values{"list": {"keji"}, "topics": {"biomed"}}, http.StatusForbidden},
		{"/admin/subscribers/care@readers.example/status", url.Values{"list": {"keji"}, "status": {"blocked"}}, http.StatusForbidden},
		// Named on the editor's own list, the person is as unknown as anyone.
		{"/admin/subscribers/care@readers.example/topics", url.Values{"list": {"beta"}, "topics": {"news"}}, http.StatusNotFound},
		{"/admin/subscribers/care@readers.example/status", url.Values{"list": {"beta"}, "status": {"blocked"}}, http.StatusNotFound},
		{"/admin/subscribers/care@readers.example/erase", url.Values{"confirm": {"yes"}}, http.StatusForbidden},
		{"/admin/lists/keji/subscribers", url.Values{"email": {"planted@example.org"}, "topics": {"all"}}, http.StatusForbidden},
		{"/admin/lists/keji/subscribers/export", url.Values{"format": {"csv"}}, http.StatusForbidden},
		{"/admin/lists/keji/import", url.Values{"markdown": {"# x"}}, http.StatusForbidden},
		{"/admin/lists/keji/topics", url.Values{"slug": {"planted"}, "name": {"Planted"}}, http.StatusForbidden},
		{"/admin/lists/keji/topics/biomed/delete", nil, http.StatusForbidden},
		{"/admin/lists/keji/settings", url.Values{"name": {"owned"}}, http.StatusForbidden},
		{"/admin/schedules/" + sched + "/delete", nil, http.StatusForbidden},
		{"/admin/schedules", url.Values{"list": {"keji"}, "cron": {"0 9 * * 2"}}, http.StatusForbidden},
	}
	for _, p := range posts {
		if a := b.post(p.path, p.form); a.status != p.want {
			t.Errorf("POST %s %v: %d, want %d", p.path, p.form, a.status, p.want)
		}
	}

	// Nothing changed.
	d, err := e.svc.Subscriber(bg, ops.CLI(), "care@readers.example")
	if err != nil {
		t.Fatal(err)
	}
	if ss := d.Subscriber.Subscriptions; len(ss) != 1 || ss[0].Status != "confirmed" || strings.Join(ss[0].Topics, ",") != "eldercare" {
		t.Errorf("care@readers.example after the refusals: %+v, %v", d, err)
	}
	if scs, _ := e.svc.Schedules(bg, ops.CLI(), "keji"); len(scs) != 1 {
		t.Errorf("keji has %d schedules, want the admin's one", len(scs))
	}
	if ts, _ := e.svc.Topics(bg, ops.CLI(), "keji"); len(ts) != 3 {
		t.Errorf("keji has %d topics, want 3", len(ts))
	}
	if _, err := e.svc.Subscriber(bg, ops.CLI(), "planted@example.org"); err == nil {
		t.Error("a refused add stored the person")
	}
}
