package ops

import (
	"errors"
	"testing"

	"github.com/tidings/tidings/smtpsink"
)

// TestRetryFailedRequeuesForTheDaemon: what `tidings send --retry-failed`
// does, for the API: the deliveries that failed temporarily or at the
// relay go out again through the daemon; permanent failures stay; an
// editor of another list is refused; a send with nothing to retry, or
// none at all, is a conflict.
func TestRetryFailedRequeuesForTheDaemon(t *testing.T) {
	sink := bulletinSink(t, smtpsink.Options{})
	e := newBulletinEnv(t, nil)
	id := e.issue.ID
	sch := e.scheduler(e.engine(t, sink))
	if _, err := e.s.RetryFailed(e.ctx, e.editor, id); !errors.Is(err, ErrConflict) {
		t.Errorf("before any send: err = %v, want ErrConflict", err)
	}
	if _, err := e.s.SendNow(e.ctx, e.editor, id); err != nil {
		t.Fatal(err)
	}
	if _, err := sch.Step(e.ctx); err != nil {
		t.Fatal(err)
	}
	if sink.Count() != 9 {
		t.Fatalf("first send: %d messages, want 9", sink.Count())
	}
	if _, err := e.s.RetryFailed(e.ctx, e.editor, id); !errors.Is(err, ErrConflict) {
		t.Errorf("nothing failed: err = %v, want ErrConflict", err)
	}
	// Three deliveries failed: one at the relay, one temporarily, one
	// for good (the recipient does not exist).
	for i, kind := range []string{"server", "temporary", "recipient"} {
		if _, err := e.d.W.Exec(`UPDATE deliveries SET state = 'failed', fail_kind = ? WHERE issue_id = ? AND subscriber_id = (SELECT subscriber_id FROM deliveries WHERE issue_id = ? ORDER BY subscriber_id LIMIT 1 OFFSET ?)`,
			kind, id, id, i); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.s.RetryFailed(e.ctx, e.outer, id); !errors.Is(err, ErrForbidden) {
		t.Errorf("editor of another list: err = %v, want ErrForbidden", err)
	}
	if _, err := e.s.RetryFailed(e.ctx, e.editor, id+1000); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown issue: err = %v, want ErrNotFound", err)
	}
	n, err := e.s.RetryFailed(e.ctx, e.editor, id)
	if err != nil || n != 2 {
		t.Fatalf("RetryFailed = %d, %v; want 2 re-queued", n, err)
	}
	if got := e.one(t, `SELECT status FROM issues WHERE id = ?`, id); got != "sending" {
		t.Errorf("issue status %s after the retry, want sending", got)
	}
	if acts := e.actions(t); acts[len(acts)-1] != "send.retry" {
		t.Errorf("last audit action %s, want send.retry", acts[len(acts)-1])
	}
	if ids, err := sch.Step(e.ctx); err != nil || len(ids) != 1 {
		t.Fatalf("the daemon's step after the retry sent %v (%v)", ids, err)
	}
	if sink.Count() != 11 {
		t.Errorf("after the retry %d messages, want 11 (the two retried)", sink.Count())
	}
	if got := e.one(t, `SELECT status FROM issues WHERE id = ?`, id); got != "sent" {
		t.Errorf("issue status %s, want sent", got)
	}
	if got := e.one(t, `SELECT count(*) FROM deliveries WHERE issue_id = ? AND state = 'failed'`, id); got != "1" {
		t.Errorf("%s failed deliveries left, want the permanent one", got)
	}
}
