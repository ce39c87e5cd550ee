package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/db"
)

// scheduleFixture makes a Chinese list in Asia/Shanghai with the sample
// issue imported (#7) and a second draft (#8); it returns the env and ids.
func scheduleFixture(t *testing.T) (map[string]string, string, string) {
	t.Helper()
	env := testEnv(t)
	mustRunCLI(t, env, "list", "add", "keji", "--name", "科技情报", "--from", "科技情报 <news@example.org>", "--lang", "zh", "--tz", "Asia/Shanghai")
	src := "../../testdata/keji-qingbao-2024-07.md"
	first := strings.TrimSpace(mustRunCLI(t, env, "issue", "import", src))
	// A second issue, the next number, straight into the table.
	d, err := db.Open(context.Background(), env["TIDINGS_DB"])
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	res, err := d.W.Exec(`INSERT INTO issues (list_id, number, title, status, created_at)
		SELECT list_id, number + 1, title, 'draft', 0 FROM issues WHERE id = ?`, first)
	if err != nil {
		t.Fatal(err)
	}
	second, _ := res.LastInsertId()
	return env, first, idStr(second)
}

func idStr(n int64) string { return strconv.FormatInt(n, 10) }

func setIssueStatus(t *testing.T, env map[string]string, id, status string) {
	t.Helper()
	d, err := db.Open(context.Background(), env["TIDINGS_DB"])
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.W.Exec(`UPDATE issues SET status = ?, sent_at = CASE ? WHEN 'sent' THEN 1720000000 END WHERE id = ?`, status, status, id); err != nil {
		t.Fatal(err)
	}
}

func issueStatusCLI(t *testing.T, env map[string]string, id string) string {
	t.Helper()
	var v struct{ Status string }
	if err := json.Unmarshal([]byte(mustRunCLI(t, env, "issue", "show", id, "--json")), &v); err != nil {
		t.Fatal(err)
	}
	return v.Status
}

func TestScheduleCLIBadInput(t *testing.T) {
	env, id, sentID := scheduleFixture(t)
	setIssueStatus(t, env, sentID, "sent")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"time in the past", []string{"schedule", "add", id, "--at", "2020-01-01 08:00"}, 1, "in the past"},
		{"already sent", []string{"schedule", "add", sentID, "--at", "+1h"}, 1, "already sent"},
		{"unknown issue", []string{"schedule", "add", "999", "--at", "+1h"}, 1, "issue 999 not found"},
		{"malformed time", []string{"schedule", "add", id, "--at", "tomorrow"}, 2, `"tomorrow"`},
		{"bad duration", []string{"schedule", "add", id, "--at", "+-5m"}, 2, `"+-5m"`},
		{"invalid cron", []string{"schedule", "add", "--cron", "61 8 * * *"}, 2, "61"},
		{"six fields", []string{"schedule", "add", "--cron", "0 0 8 * * 1"}, 2, "5 fields"},
		{"bare CRON_TZ", []string{"schedule", "add", "--cron", "CRON_TZ=UTC"}, 2, "--tz"},
		{"zone inside cron", []string{"schedule", "add", "--cron", "CRON_TZ=Asia/Tokyo 0 8 * * *"}, 2, "--tz"},
		{"unknown zone", []string{"schedule", "add", "--cron", "0 8 * * 1", "--tz", "Mars/Base"}, 2, "Mars/Base"},
		{"unknown zone one-off", []string{"schedule", "add", id, "--at", "+1h", "--tz", "Asia/Atlantis"}, 2, "Asia/Atlantis"},
		{"both modes", []string{"schedule", "add", id, "--at", "+1h", "--cron", "0 8 * * *"}, 2, "either --at"},
		{"neither mode", []string{"schedule", "add", id}, 2, "either --at"},
		{"at without id", []string{"schedule", "add", "--at", "+1h"}, 2, "issue ID"},
		{"cron with id", []string{"schedule", "add", id, "--cron", "0 8 * * *"}, 2, "no issue ID"},
		{"rm unknown", []string{"schedule", "rm", "42"}, 1, "schedule 42 not found"},
		{"rm garbage", []string{"schedule", "rm", "x"}, 2, `"x"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := runCLI(t, env, "", tc.args...)
			if code != tc.code || !strings.Contains(errs, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, errs, tc.code, tc.want)
			}
			if strings.Count(strings.TrimSpace(strings.Split(errs, "Run 'tidings")[0]), "\n") != 0 {
				t.Errorf("error is not one line: %q", errs)
			}
			if out != "" {
				t.Errorf("stdout on error: %q", out)
			}
		})
	}
	if out := mustRunCLI(t, env, "schedule", "ls", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("refused adds left schedules: %s", out)
	}
	if got := issueStatusCLI(t, env, id); got != "draft" {
		t.Errorf("issue status after refused adds = %q", got)
	}
}

func TestScheduleCLIAddLsRm(t *testing.T) {
	env, id, _ := scheduleFixture(t)
	out := mustRunCLI(t, env, "schedule", "add", id, "--at", "2030-01-02 08:00")
	if !strings.Contains(out, "2030-01-02 08:00:00 CST") || !strings.Contains(out, "Asia/Shanghai") {
		t.Errorf("add output %q: want the time in the list's zone", out)
	}
	if got := issueStatusCLI(t, env, id); got != "scheduled" {
		t.Errorf("status after add = %q", got)
	}
	out = mustRunCLI(t, env, "schedule", "add", "--cron", "0 8 * * 1", "--tz", "Europe/Berlin")
	if !strings.Contains(out, `"0 8 * * 1"`) || !strings.Contains(out, "Europe/Berlin") {
		t.Errorf("cron add output %q", out)
	}

	var ls []map[string]any
	if err := json.Unmarshal([]byte(mustRunCLI(t, env, "schedule", "ls", "--json")), &ls); err != nil {
		t.Fatal(err)
	}
	if len(ls) != 2 {
		t.Fatalf("ls = %v", ls)
	}
	for _, k := range []string{"id", "issue", "cron", "at", "tz", "next"} {
		for _, s := range ls {
			if _, ok := s[k]; !ok {
				t.Errorf("ls --json lacks key %q: %v", k, s)
			}
		}
	}
	once, rec := ls[0], ls[1]
	if once["at"] != "2030-01-02T08:00:00+08:00" || once["next"] != once["at"] || once["tz"] != "Asia/Shanghai" || once["cron"] != nil {
		t.Errorf("one-off = %v", once)
	}
	next, err := time.Parse(time.RFC3339, rec["next"].(string))
	if err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	if nb := next.In(berlin); nb.Weekday() != time.Monday || nb.Hour() != 8 || nb.Minute() != 0 || rec["issue"] != nil || rec["tz"] != "Europe/Berlin" {
		t.Errorf("recurring = %v (next %v in Berlin)", rec, nb)
	}
	if n := rec["next"].(string); !strings.HasSuffix(n, "+01:00") && !strings.HasSuffix(n, "+02:00") {
		t.Errorf("next %v not in the schedule's zone", n)
	}
	table := mustRunCLI(t, env, "schedule", "ls")
	if !strings.Contains(table, "cron 0 8 * * 1") || !strings.Contains(table, "at 2030-01-02 08:00:00 CST") {
		t.Errorf("ls table:\n%s", table)
	}

	mustRunCLI(t, env, "schedule", "rm", idStr(int64(once["id"].(float64))))
	if got := issueStatusCLI(t, env, id); got != "draft" {
		t.Errorf("status after rm = %q, want draft", got)
	}
	// A ready issue goes back to ready.
	mustRunCLI(t, env, "issue", "ready", id)
	mustRunCLI(t, env, "schedule", "add", id, "--at", "+1h", "--tz", "UTC")
	var after []map[string]any
	json.Unmarshal([]byte(mustRunCLI(t, env, "schedule", "ls", "--json")), &after)
	mustRunCLI(t, env, "schedule", "rm", idStr(int64(after[len(after)-1]["id"].(float64))))
	if got := issueStatusCLI(t, env, id); got != "ready" {
		t.Errorf("status after rm = %q, want ready", got)
	}
}
