package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tidings/tidings/db"
)

// list set's tracking flags: bad values are usage errors (exit 2) that
// change nothing; good ones are stored.
func TestListSetTracking(t *testing.T) {
	env := testEnv(t)
	mustRunCLI(t, env, "list", "add", "weekly", "--name", "Weekly", "--from", "Weekly <w@example.org>")
	runSteps(t, env, []cliStep{
		{args: []string{"list", "set", "weekly", "--clicks", "everything"}, code: 2, errs: []string{`--clicks "everything": want off, aggregate or individual`}},
		{args: []string{"list", "set", "weekly", "--opens", ""}, code: 2, errs: []string{`--opens "": want off, aggregate or individual`}},
		{args: []string{"list", "set", "weekly", "--activity-days", "0"}, code: 2, errs: []string{"--activity-days 0: want 1 to 3650"}},
		{args: []string{"list", "set", "weekly", "--activity-days", "99999"}, code: 2, errs: []string{"--activity-days 99999"}},
	})
	check := func(clicks, opens string, days int) {
		t.Helper()
		d, err := db.Open(context.Background(), env["TIDINGS_DB"])
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		var c, o string
		var n int
		if err := d.R.QueryRow(`SELECT clicks, opens, activity_days FROM lists WHERE slug = 'weekly'`).Scan(&c, &o, &n); err != nil {
			t.Fatal(err)
		}
		if c != clicks || o != opens || n != days {
			t.Errorf("stored %s/%s/%d, want %s/%s/%d", c, o, n, clicks, opens, days)
		}
		// and list ls shows them, as the API's list does
		var ls []struct {
			Clicks       *string `json:"clicks"`
			Opens        *string `json:"opens"`
			ActivityDays *int    `json:"activity_days"`
		}
		if err := json.Unmarshal([]byte(mustRunCLI(t, env, "list", "ls", "--json")), &ls); err != nil || len(ls) != 1 {
			t.Fatalf("list ls --json: %v %v", ls, err)
		}
		if l := ls[0]; l.Clicks == nil || *l.Clicks != clicks || l.Opens == nil || *l.Opens != opens || l.ActivityDays == nil || *l.ActivityDays != days {
			t.Errorf("list ls --json clicks/opens/activity_days = %v/%v/%v, want %s/%s/%d", l.Clicks, l.Opens, l.ActivityDays, clicks, opens, days)
		}
		if text := mustRunCLI(t, env, "list", "ls"); !strings.Contains(text, "CLICKS") || !strings.Contains(text, " "+clicks+" ") {
			t.Errorf("list ls does not show clicks %s:\n%s", clicks, text)
		}
	}
	check("aggregate", "off", 180)
	mustRunCLI(t, env, "list", "set", "weekly", "--clicks", "individual", "--opens", "Aggregate", "--activity-days", "30")
	check("individual", "aggregate", 30)
	mustRunCLI(t, env, "list", "set", "weekly", "--clicks", "off")
	check("off", "aggregate", 30)
}

// sub show --json has an activity key: the person's human events (an
// empty list when nothing is tracked about them).
func TestSubShowActivity(t *testing.T) {
	env := testEnv(t)
	mustRunCLI(t, env, "list", "add", "weekly", "--name", "Weekly", "--from", "Weekly <w@example.org>")
	mustRunCLI(t, env, "sub", "add", "ada@example.com", "--list", "weekly")
	var out struct {
		Activity []map[string]any `json:"activity"`
	}
	raw := mustRunCLI(t, env, "sub", "show", "ada@example.com", "--json")
	if err := json.Unmarshal([]byte(raw), &out); err != nil || out.Activity == nil || len(out.Activity) != 0 {
		t.Fatalf("activity %v (%v) in %s", out.Activity, err, raw)
	}
	d, err := db.Open(context.Background(), env["TIDINGS_DB"])
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO issues (list_id, number, title, created_at) VALUES (1, 1, 'One', 1)`,
		`INSERT INTO track_links (issue_id, position, link, url) VALUES (1, 1, 1, 'https://example.com/a')`,
		`INSERT INTO track_events (subscriber_id, issue_id, kind, position, link, verdict, reason, at) VALUES (1, 1, 'click', 1, 1, 'human', '', 1767000000)`,
		`INSERT INTO track_events (subscriber_id, issue_id, kind, position, link, verdict, reason, at) VALUES (1, 1, 'click', 1, 1, 'machine', 'head', 1767000001)`,
	} {
		if _, err := d.W.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	d.Close()
	raw = mustRunCLI(t, env, "sub", "show", "ada@example.com", "--json")
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Activity) != 1 || out.Activity[0]["url"] != "https://example.com/a" || out.Activity[0]["kind"] != "click" || out.Activity[0]["issue"] != float64(1) {
		t.Errorf("activity %v: want the one human click", out.Activity)
	}
	text := mustRunCLI(t, env, "sub", "show", "ada@example.com")
	if !strings.Contains(text, "activity (human clicks and opens") || !strings.Contains(text, "https://example.com/a") || strings.Count(text, "click") != 2 {
		t.Errorf("sub show text lacks the activity:\n%s", text)
	}
}
