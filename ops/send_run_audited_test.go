package ops

import (
	"errors"
	"testing"
)

// TestRunSendChecksTheActorAndIsAudited: a send run in the caller's own
// process (the command line's) is refused to an editor of another list
// and for an unknown issue, and recorded once allowed.
func TestRunSendChecksTheActorAndIsAudited(t *testing.T) {
	e := newBulletinEnv(t, nil)
	id := e.issue.ID
	if err := e.s.RunSend(e.ctx, e.outer, id, false); !errors.Is(err, ErrForbidden) {
		t.Errorf("editor of another list: err = %v, want ErrForbidden", err)
	}
	if err := e.s.RunSend(e.ctx, CLI(), id+1000, false); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown issue: err = %v, want ErrNotFound", err)
	}
	before := len(e.actions(t))
	if err := e.s.RunSend(e.ctx, e.editor, id, true); err != nil {
		t.Fatal(err)
	}
	acts := e.actions(t)
	if len(acts) != before+1 || acts[len(acts)-1] != "send.run" {
		t.Errorf("audit actions %v, want one send.run added", acts)
	}
	if got := e.one(t, `SELECT detail FROM audit_log WHERE action = 'send.run'`); got != `{"retry_failed":true}` {
		t.Errorf("send.run detail %s", got)
	}
}
