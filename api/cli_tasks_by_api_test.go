package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/ops"
)

// TestUserSetAndLinkThroughTheAPI: `tidings user set` and `tidings user
// link` with a token: the role and lists change (and are audited), absent
// fields stay, and a fresh sign-in link works while the earlier one stops.
func TestUserSetAndLinkThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	var u userJSON
	r := e.call(asAdmin, "PATCH", "/users/ed@example.org", map[string]any{"role": "admin"})
	r.json(t, &u)
	if r.status != http.StatusOK || u.Role != "admin" || strings.Join(u.Lists, ",") != "alpha" {
		t.Fatalf("role change: %d %+v, want admin of alpha still", r.status, u)
	}
	r = e.call(asAdmin, "PATCH", "/users/ED@example.org", map[string]any{"lists": []string{"alpha", "beta"}})
	r.json(t, &u)
	if r.status != http.StatusOK || u.Role != "admin" || strings.Join(u.Lists, ",") != "alpha,beta" {
		t.Fatalf("lists change: %d %+v, want admin of alpha and beta", r.status, u)
	}
	var us []userJSON
	e.call(asAdmin, "GET", "/users", nil).json(t, &us)
	if len(us) != 1 || us[0].Role != "admin" || strings.Join(us[0].Lists, ",") != "alpha,beta" {
		t.Errorf("GET /users after the changes: %+v", us)
	}
	var audit struct {
		Entries []struct{ Action, Actor string } `json:"entries"`
	}
	e.call(asAdmin, "GET", "/audit?limit=2", nil).json(t, &audit)
	if len(audit.Entries) != 2 || audit.Entries[0].Action != "user.set" || audit.Entries[0].Actor != "admin" {
		t.Errorf("audit after the changes: %+v", audit.Entries)
	}

	var first, second struct {
		SignInLink string `json:"sign_in_link"`
	}
	e.call(asAdmin, "POST", "/users/ed@example.org/link", nil).json(t, &first)
	e.call(asAdmin, "POST", "/users/ed@example.org/link", nil).json(t, &second)
	if !strings.Contains(second.SignInLink, "/admin/link/") || first.SignInLink == second.SignInLink {
		t.Fatalf("links %q, %q", first.SignInLink, second.SignInLink)
	}
	if who, err := e.ops.SignInLink(context.Background(), second.SignInLink); err != nil || who != "ed@example.org" {
		t.Errorf("the new link is for %q (%v)", who, err)
	}
	if _, err := e.ops.SignInLink(context.Background(), first.SignInLink); !errors.Is(err, ops.ErrNotFound) {
		t.Errorf("the earlier link still works: %v", err)
	}
}

// TestRetryFailedThroughTheAPI: `tidings send --retry-failed` with a
// token: after a send whose relay failed one reader temporarily, the
// retry re-queues that delivery, the daemon (played by the engine) sends
// it, and the status shows nothing failed. A second retry has nothing to
// do: 409.
func TestRetryFailedThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	id := fixture.ids["alpha7"]
	if r := e.call(asEditor, "POST", fmt.Sprintf("/issues/%d/send", id), nil); r.status != http.StatusAccepted {
		t.Fatalf("send: %d %s", r.status, r.body)
	}
	if _, err := e.engine.Send(context.Background(), id, mailer.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	sent := e.sink.Count()
	// One reader's delivery failed temporarily and ran out of attempts.
	if _, err := e.db.W.Exec(`UPDATE deliveries SET state = 'failed', fail_kind = 'temporary', smtp_reply = '451 4.3.0 try later'
		WHERE issue_id = ? AND subscriber_id = (SELECT min(subscriber_id) FROM deliveries WHERE issue_id = ?)`, id, id); err != nil {
		t.Fatal(err)
	}
	var st struct {
		Failed, Pending, Sent int
		State                 string
	}
	r := e.call(asEditor, "POST", fmt.Sprintf("/issues/%d/send/retry", id), nil)
	r.json(t, &st)
	if r.status != http.StatusOK || st.Failed != 0 || st.Pending != 1 {
		t.Fatalf("retry: %d %+v, want 200 with the one delivery pending", r.status, st)
	}
	if _, err := e.engine.Send(context.Background(), id, mailer.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := e.sink.Count(); got != sent+1 {
		t.Errorf("the retry sent %d messages, want 1", got-sent)
	}
	e.call(asEditor, "GET", fmt.Sprintf("/issues/%d/status", id), nil).json(t, &st)
	if st.Failed != 0 || st.Pending != 0 || st.State != "done" {
		t.Errorf("status after the retry: %+v", st)
	}
	if r := e.call(asEditor, "POST", fmt.Sprintf("/issues/%d/send/retry", id), nil); r.status != http.StatusConflict {
		t.Errorf("a retry with nothing failed: %d, want 409", r.status)
	}
}
