package main

import (
	"context"
	"os/user"
	"strings"
	"testing"

	"github.com/tidings/tidings/db"
)

// TestCLIChangesAreAudited: every list, topic and subscriber change made
// on the command line goes through ops and leaves one audit entry by the
// cli actor (the OS user); a reader is named by id only, and nothing of
// an erased reader stays in the log.
func TestCLIChangesAreAudited(t *testing.T) {
	env := newKejiEnv(t) // list.add, topic.add ×3
	csv := writeTestFile(t, "readers.csv", []byte("email,name\nimport.me@example.org,Imp\n"))
	for _, args := range [][]string{
		{"topic", "set", "space", "--keywords", "火箭"},
		{"topic", "rm", "space"},
		{"list", "set", "keji", "--name", "科技情报周刊"},
		{"sub", "add", "Audit.Me@example.org", "--topics", "ai"},
		{"sub", "topics", "audit.me@example.org", "chips"},
		{"sub", "status", "audit.me@example.org", "blocked"},
		{"sub", "import", csv},
		{"sub", "export"},
		{"sub", "delete", "audit.me@example.org"},
	} {
		mustRunCLI(t, env, args...)
	}
	mustRunCLI(t, env, "list", "add", "gone", "--name", "Gone", "--from", "gone@example.org")
	mustRunCLI(t, env, "list", "rm", "gone")

	d, err := db.Open(context.Background(), env["TIDINGS_DB"])
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	rows, err := d.R.Query("SELECT actor_kind, actor, action, object_kind, object_id, detail FROM audit_log ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var actions []string
	me, _ := user.Current()
	for rows.Next() {
		var kind, actor, action, objKind, objID, detail string
		if err := rows.Scan(&kind, &actor, &action, &objKind, &objID, &detail); err != nil {
			t.Fatal(err)
		}
		actions = append(actions, action)
		if kind != "cli" || me != nil && actor != me.Username {
			t.Errorf("%s by %s:%s, want the cli actor", action, kind, actor)
		}
		if strings.Contains(strings.ToLower(objID+detail), "audit.me") {
			t.Errorf("%s names the erased reader: %s %s", action, objID, detail)
		}
		if strings.HasPrefix(action, "subscriber.") && (objKind != "subscriber" || strings.Trim(objID, "0123456789") != "") {
			t.Errorf("%s names object %s %q, want the subscriber's id", action, objKind, objID)
		}
	}
	want := "list.add topic.add topic.add topic.add topic.set topic.rm list.set subscriber.add subscriber.topics subscriber.status " +
		"subscribers.import subscribers.export subscriber.delete list.add list.rm"
	if got := strings.Join(actions, " "); got != want {
		t.Errorf("audit log:\n%s\nwant\n%s", got, want)
	}
}
