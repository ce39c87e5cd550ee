package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/smtpsink"
)

// TestAfterASend plays the daemon: the API hands the issue over (202), the
// engine sends it to an SMTP server that refuses one reader, and the
// status, failures, bounces, report and home page show what happened.
func TestAfterASend(t *testing.T) {
	e := newEnvWith(t, smtpsink.Options{OnRcpt: func(from, to string) error {
		if to == "cat@example.org" {
			return smtpsink.Reply(550, "5.1.1", "no such mailbox")
		}
		return nil
	}})
	id := fixture.ids["alpha7"]
	if r := e.call(asEditor, "POST", fmt.Sprintf("/issues/%d/send", id), nil); r.status != http.StatusAccepted {
		t.Fatalf("send: %d %s", r.status, r.body)
	}
	if _, err := e.engine.Send(context.Background(), id, mailer.SendOptions{}); err != nil {
		t.Fatalf("the engine's send: %v", err)
	}
	var st struct {
		Total, Sent, Failed, Bounced, Pending int
		State                                 string
		Failures                              []struct{ Email, State, Reply string }
	}
	e.call(asEditor, "GET", fmt.Sprintf("/issues/%d/status", id), nil).json(t, &st)
	if st.Total != 3 || st.Sent != 2 || st.Pending != 0 || st.State != "done" || len(st.Failures) != 1 ||
		st.Failures[0].Email != "cat@example.org" || !strings.Contains(st.Failures[0].Reply, "550") {
		t.Errorf("status after the send: %+v", st)
	}
	var rep struct{ Recipients, Delivered int }
	e.call(asEditor, "GET", fmt.Sprintf("/issues/%d/report", id), nil).json(t, &rep)
	if rep.Delivered != 2 {
		t.Errorf("report: %+v", rep)
	}
	var home []struct {
		LastSends []struct {
			Issue  int64
			State  string
			Counts struct{ Sent int }
		} `json:"last_sends"`
	}
	e.call(asEditor, "GET", "/home", nil).json(t, &home)
	if len(home) != 1 || len(home[0].LastSends) != 1 || home[0].LastSends[0].Issue != id || home[0].LastSends[0].Counts.Sent != 2 {
		t.Errorf("home after the send: %+v", home)
	}
	var bounces struct {
		Bounces []struct{ Email, Kind string }
	}
	e.call(asEditor, "GET", "/lists/alpha/bounces", nil).json(t, &bounces)
	if len(bounces.Bounces) != 1 || bounces.Bounces[0].Email != "cat@example.org" || bounces.Bounces[0].Kind != "hard" {
		t.Errorf("bounces after the send: %+v", bounces)
	}
	var is struct{ Status string }
	e.call(asEditor, "GET", fmt.Sprintf("/issues/%d", id), nil).json(t, &is)
	if is.Status != "sent" {
		t.Errorf("issue after the send: %q", is.Status)
	}
	// Controls of a finished send conflict.
	if r := e.call(asEditor, "POST", fmt.Sprintf("/issues/%d/send/pause", id), nil); r.status != http.StatusConflict {
		t.Errorf("pause after done: %d", r.status)
	}
}
