package main

import (
	"context"
	"os/user"
	"testing"

	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/smtpsink"
)

// TestCLISendIsAudited: `tidings send` sends in its own process, not
// through ops.SendNow, yet a person ran it: the audit log names the cli
// actor, the issue and its list, and whether failures were retried. An
// unknown issue is refused before anything is recorded.
func TestCLISendIsAudited(t *testing.T) {
	env, sink := sendEnv(t, smtpsink.Options{})
	if _, errs, code := runCLI(t, env, "", "send", "99"); code != 1 {
		t.Fatalf("send 99: exit %d, %s", code, errs)
	}
	mustRunCLI(t, env, "send", "1")
	mustRunCLI(t, env, "send", "1", "--retry-failed")
	if len(sink.Messages()) == 0 {
		t.Fatal("nothing was sent")
	}

	d, err := db.Open(context.Background(), env["TIDINGS_DB"])
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	rows, err := d.R.Query(`SELECT actor_kind, actor, object_kind, object_id, coalesce(list_id, 0), detail FROM audit_log WHERE action = 'send.run' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	me, _ := user.Current()
	var details []string
	for rows.Next() {
		var kind, actor, objKind, objID, detail string
		var list int64
		if err := rows.Scan(&kind, &actor, &objKind, &objID, &list, &detail); err != nil {
			t.Fatal(err)
		}
		if kind != "cli" || (me != nil && actor != me.Username) || objKind != "issue" || objID != "1" || list == 0 {
			t.Errorf("send.run by %s:%s on %s %s (list %d), want the cli actor on issue 1 of its list", kind, actor, objKind, objID, list)
		}
		details = append(details, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(details) != 2 || details[0] != "" || details[1] != `{"retry_failed":true}` {
		t.Errorf("send.run entries' details %q, want a plain send then a retry", details)
	}
}
