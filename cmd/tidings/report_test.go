package main

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/smtpsink"
)

// reportJSON is what the tests read of `report --json`.
type reportJSON struct {
	Issue        int64  `json:"issue"`
	Recipients   int    `json:"recipients"`
	Delivered    int    `json:"delivered"`
	Bounced      int    `json:"bounced"`
	BouncedHard  int    `json:"bounced_hard"`
	Complaints   int    `json:"complaints"`
	Unsubscribed int    `json:"unsubscribed"`
	Status       string `json:"status"`
	Opens        struct {
		Total, Human, Machine int
	} `json:"opens"`
	Clicks struct {
		Total, Human, Machine int
	} `json:"clicks"`
	UniqueClickers *int `json:"unique_clickers"`
	Articles       []struct {
		Position    int      `json:"position"`
		Title       string   `json:"title"`
		Topics      []string `json:"topics"`
		Recipients  int      `json:"recipients"`
		ClicksHuman int      `json:"clicks_human"`
	} `json:"articles"`
	Topics []struct {
		Slug        string `json:"slug"`
		Recipients  int    `json:"recipients"`
		ClicksHuman int    `json:"clicks_human"`
	} `json:"topics"`
	Links          []map[string]any `json:"links"`
	MachineReasons map[string]int   `json:"machine_reasons"`
	Timeline       []map[string]any `json:"timeline"`
}

func readReport(t *testing.T, env map[string]string, args ...string) reportJSON {
	t.Helper()
	out := mustRunCLI(t, env, append(append([]string{"report"}, args...), "--json")...)
	var r reportJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("report --json: %v\n%s", err, out)
	}
	// The CONTRACT keys are all there, null only where it says so.
	var raw map[string]any
	json.Unmarshal([]byte(out), &raw)
	for _, k := range []string{"issue", "recipients", "delivered", "bounced", "complaints", "unsubscribed", "opens", "clicks",
		"unique_clickers", "articles", "topics", "links"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("report --json lacks key %q", k)
		}
	}
	for _, k := range []string{"articles", "topics", "links", "timeline"} {
		if raw[k] == nil {
			t.Errorf("report --json: %q is null, want a list", k)
		}
	}
	// and inside: the nested keys exactly as CONTRACT spells them (Go's
	// decoder would accept any case, so they are checked on the raw map)
	nested := map[string][]string{
		"opens": {"total", "human", "machine"}, "clicks": {"total", "human", "machine"},
		"articles": {"position", "title", "recipients", "clicks_human"}, "topics": {"slug", "recipients", "clicks_human"},
		"links": {"url", "recipients", "clicks_human", "clicks_machine"},
	}
	for k, keys := range nested {
		objs := []any{raw[k]}
		if l, ok := raw[k].([]any); ok {
			objs = l
		}
		for _, o := range objs {
			m, _ := o.(map[string]any)
			for _, key := range keys {
				if _, ok := m[key]; !ok {
					t.Errorf("report --json: %s %v lacks key %q", k, o, key)
				}
			}
		}
	}
	return r
}

const secondIssue = `---
title: Tidings Weekly
number: 8
---

## Space batteries {topics=space}

Read [the launch notes](https://example.org/launch).

## A fund {topics=finance}

See https://example.org/fund for the terms.
`

// TestReportAfterARealSend sends the sample bulletin through a real SMTP
// server (one reader's mailbox refuses it), lets a reader leave, sends a
// second issue, and reads the reports and the trend in every format.
func TestReportAfterARealSend(t *testing.T) {
	env, _ := sendEnv(t, smtpsink.Options{OnRcpt: func(_, to string) error {
		if to == "biomed@example.com" {
			return smtpsink.Reply(550, "5.1.1", "no such mailbox")
		}
		return nil
	}})

	// Before the send: zeros, not an error.
	r := readReport(t, env, "1")
	if r.Recipients != 0 || r.Delivered != 0 || len(r.Articles) != 5 || len(r.Timeline) != 0 || r.Status == "sent" {
		t.Errorf("report before the send = %+v, want zeros and the 5 articles", r)
	}

	mustRunCLI(t, env, "send", "1")
	mustRunCLI(t, env, "sub", "unsubscribe", "space@example.com")

	r = readReport(t, env, "1")
	// quantum@ is skipped (no article of its topic), biomed@ bounced hard.
	if r.Recipients != 5 || r.Delivered != 4 || r.Bounced != 1 || r.BouncedHard != 1 || r.Complaints != 0 || r.Unsubscribed != 1 {
		t.Errorf("report = recipients %d delivered %d bounced %d/%d complaints %d unsubscribed %d; want 5 4 1/1 0 1",
			r.Recipients, r.Delivered, r.Bounced, r.BouncedHard, r.Complaints, r.Unsubscribed)
	}
	var reach []int
	for _, a := range r.Articles {
		reach = append(reach, a.Recipients)
	}
	// Articles: ageing (all, ageing, mixed), biomed+finance (all, biomed,
	// mixed), finance (all, mixed), space (all, space), finance.
	if want := []int{3, 3, 2, 2, 2}; !equalInts(reach, want) {
		t.Errorf("article recipients = %v, want %v", reach, want)
	}
	topics := map[string]int{}
	for _, tp := range r.Topics {
		topics[tp.Slug] = tp.Recipients
	}
	if topics["ageing"] != 3 || topics["biomed"] != 2 || topics["finance"] != 2 || topics["space"] != 2 || topics["quantum"] != 1 {
		t.Errorf("topic recipients = %v", topics)
	}
	if r.UniqueClickers != nil {
		t.Errorf("unique_clickers = %d, want null (the list tracks in aggregate)", *r.UniqueClickers)
	}
	if len(r.Timeline) != 48 {
		t.Errorf("timeline has %d hours, want 48", len(r.Timeline))
	}

	text := mustRunCLI(t, env, "report", "1")
	if !strings.HasPrefix(text, "Issue 1 (#7) 科技情报参考\nlist keji, sent, send started ") || !strings.Contains(text, "\n\nrecipients    5\n") {
		t.Errorf("report text does not begin with the issue and its figures:\n%s", text)
	}
	for _, want := range []string{"recipients", "delivered", "bounced", "hard 1, soft 0", "unsubscribed", "clicks", "Articles:", "Topics", "养老"} {
		if !strings.Contains(text, want) {
			t.Errorf("report text lacks %q:\n%s", want, text)
		}
	}

	out := mustRunCLI(t, env, "report", "1", "--csv")
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("report --csv is not CSV: %v\n%s", err, out)
	}
	if strings.Join(recs[0], ",") != "issue,section,item,label,metric,value" {
		t.Errorf("csv header = %v", recs[0])
	}
	found := false
	for _, rec := range recs {
		if rec[1] == "summary" && rec[4] == "delivered" && rec[5] == "4" {
			found = true
		}
	}
	if !found {
		t.Errorf("csv has no summary,delivered,4 row:\n%s", out)
	}

	// A second issue: the reader who left after issue 1 counts for issue 1
	// only. Times are whole seconds: the second send must start in a later
	// second than the unsubscribe for the two to be ordered.
	mustRunCLI(t, env, "issue", "import", writeTestFile(t, "weekly-8.md", []byte(secondIssue)))
	time.Sleep(1100 * time.Millisecond)
	mustRunCLI(t, env, "send", "2")
	if r2 := readReport(t, env, "2"); r2.Unsubscribed != 0 || r2.Recipients != 2 {
		t.Errorf("issue 2: unsubscribed %d recipients %d, want 0 and 2 (all, mixed; space@ left, biomed@ bounced)", r2.Unsubscribed, r2.Recipients)
	}
	if r1 := readReport(t, env, "1"); r1.Unsubscribed != 1 {
		t.Errorf("issue 1 after issue 2's send: unsubscribed %d, want 1", r1.Unsubscribed)
	}

	var trend []reportJSON
	if err := json.Unmarshal([]byte(mustRunCLI(t, env, "report", "--list", "keji", "--last", "10", "--json")), &trend); err != nil {
		t.Fatal(err)
	}
	if len(trend) != 2 || trend[0].Issue != 2 || trend[1].Issue != 1 {
		t.Errorf("trend = %+v, want issues 2 then 1", trend)
	}
	tt := mustRunCLI(t, env, "report", "--list", "keji")
	if !strings.Contains(tt, "CLICK RATE") || strings.Index(tt, "Tidings Weekly") > strings.Index(tt, "科技情报参考") {
		t.Errorf("trend text (newest first):\n%s", tt)
	}
	if one := mustRunCLI(t, env, "report", "--list", "keji", "--last", "1", "--csv"); strings.Count(one, "\n") != 2 || !strings.Contains(one, "Tidings Weekly") {
		t.Errorf("trend --last 1 --csv:\n%s", one)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestReportBadInput(t *testing.T) {
	env := testEnv(t)
	mustRunCLI(t, env, "list", "add", "keji", "--name", "K", "--from", "K <k@example.org>")
	for _, c := range []struct {
		args []string
		code int
		errs string
	}{
		{[]string{"report"}, exitUsage, "want an issue ID"},
		{[]string{"report", "abc"}, exitUsage, `issue id "abc"`},
		{[]string{"report", "0"}, exitUsage, "positive number"},
		{[]string{"report", "1", "--list", "keji"}, exitUsage, "not both"},
		{[]string{"report", "1", "--json", "--csv"}, exitUsage, "choose one"},
		{[]string{"report", "1", "--last", "3"}, exitUsage, "--last goes with --list"},
		{[]string{"report", "--list", "keji", "--last", "0"}, exitUsage, "want 1 to 100"},
		{[]string{"report", "--list", "keji", "--last", "101"}, exitUsage, "want 1 to 100"},
		{[]string{"report", "1", "2"}, exitUsage, "argument"},
		{[]string{"report", "99"}, exitFailure, "issue 99: not found"},
		{[]string{"report", "--list", "nosuch"}, exitFailure, `list "nosuch": not found`},
	} {
		out, errs, code := runCLI(t, env, "", c.args...)
		if code != c.code || !strings.Contains(errs, c.errs) || out != "" {
			t.Errorf("tidings %s: exit %d, stderr %q, stdout %q; want exit %d and %q", strings.Join(c.args, " "), code, errs, out, c.code, c.errs)
		}
		if strings.Count(strings.TrimSpace(errs), "\n") > 1 {
			t.Errorf("tidings %s: more than a line of error:\n%s", strings.Join(c.args, " "), errs)
		}
	}
	if out := mustRunCLI(t, env, "report", "--list", "keji"); !strings.Contains(out, "no issue sent yet") {
		t.Errorf("trend of a list never sent: %q", out)
	}
}
