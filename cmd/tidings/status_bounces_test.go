package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"testing"

	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/smtpsink"
)

// TestStatusShowsBouncesAndComplaints: `status ID` reports the bounces
// and complaints recorded for the issue (issue 7), counted per reader, in
// both the text and the JSON output; another issue's rows do not count.
func TestStatusShowsBouncesAndComplaints(t *testing.T) {
	env, _ := sendEnv(t, smtpsink.Options{OnRcpt: func(_, to string) error {
		if to == "biomed@example.com" {
			return smtpsink.Reply(550, "5.1.1", "no such mailbox")
		}
		return nil
	}})
	// Before any send: zeros, and the keys are there.
	var before map[string]any
	if err := json.Unmarshal([]byte(mustRunCLI(t, env, "status", "1", "--json")), &before); err != nil {
		t.Fatal(err)
	}
	if b, ok := before["bounces"].(map[string]any); !ok || b["hard_bounces"] != 0.0 || b["soft_bounces"] != 0.0 || b["complaints"] != 0.0 {
		t.Errorf("status before a send: bounces = %v", before["bounces"])
	}
	if text := mustRunCLI(t, env, "status", "1"); !strings.Contains(text, "bounces: 0 hard, 0 soft; complaints: 0") {
		t.Errorf("status text before a send:\n%s", text)
	}

	// The send records biomed's 550 5.1.1 as a hard bounce.
	sendOut := mustRunCLI(t, env, "send", "1", "--json")
	var sj struct {
		Bounces struct {
			Hard int `json:"hard_bounces"`
		} `json:"bounces"`
	}
	if err := json.Unmarshal([]byte(sendOut), &sj); err != nil || sj.Bounces.Hard != 1 {
		t.Errorf("send --json bounces: %+v %v\n%s", sj, err, sendOut)
	}

	// Inbound later records DSNs and complaints for the issue.
	d, err := db.Open(context.Background(), env["TIDINGS_DB"])
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	err = d.WriteTx(context.Background(), func(tx *sql.Tx) error {
		for _, r := range []struct {
			email, kind string
			issue       any
		}{
			{"space@example.com", "hard", 1},
			{"ageing@example.com", "soft", 1},
			{"ageing@example.com", "soft", 1}, // the same reader twice: one
			{"mixed@example.com", "soft", 1},
			{"all@example.com", "complaint", 1},
			{"mixed@example.com", "complaint", nil}, // not tied to an issue
		} {
			if _, err := tx.Exec(`INSERT INTO bounces (subscriber_id, list_id, issue_id, kind, source, at)
				SELECT p.id, s.list_id, ?, ?, 'dsn', 1 FROM subscribers p JOIN subscriptions s ON s.subscriber_id = p.id
				WHERE p.email = ?`, r.issue, r.kind, r.email); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	text := mustRunCLI(t, env, "status", "1")
	if !strings.Contains(text, "bounces: 2 hard, 2 soft; complaints: 1") {
		t.Errorf("status text lacks the bounce line:\n%s", text)
	}
	var st struct {
		Issue   int64 `json:"issue"`
		Sent    int   `json:"sent"`
		Bounces struct {
			Hard       int `json:"hard_bounces"`
			Soft       int `json:"soft_bounces"`
			Complaints int `json:"complaints"`
		} `json:"bounces"`
	}
	out := mustRunCLI(t, env, "status", "1", "--json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	if st.Issue != 1 || st.Sent != 4 || st.Bounces.Hard != 2 || st.Bounces.Soft != 2 || st.Bounces.Complaints != 1 {
		t.Errorf("status --json: %+v\n%s", st, out)
	}
}
