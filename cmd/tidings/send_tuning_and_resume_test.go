package main

import (
	"bytes"
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tidings/tidings/smtpsink"
)

// TestTuningRetryFailedAndProgress: the environment tuning reaches the
// engine (attempts, bounce limit), --retry-failed re-sends a temporary
// failure once the cause is gone, and without a terminal progress comes
// as log lines on stderr.
func TestTuningRetryFailedAndProgress(t *testing.T) {
	var fixed atomic.Bool
	env, sink := sendEnv(t, smtpsink.Options{OnRcpt: func(_, to string) error {
		switch {
		case to == "space@example.com" && !fixed.Load():
			return smtpsink.Reply(451, "4.4.1", "no answer from host")
		case to == "biomed@example.com":
			return smtpsink.Reply(550, "5.1.1", "no such mailbox")
		}
		return nil
	}})
	env["TIDINGS_SEND_ATTEMPTS"] = "1" // the default 5 with 1-minute backoff would take a quarter of an hour
	env["TIDINGS_BOUNCE_LIMIT"] = "2"
	out, errs, code := runCLI(t, env, "", "send", "1")
	if code != 0 {
		t.Fatalf("send: exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "3 sent, 1 failed, 1 bounced, 1 skipped") || !strings.Contains(out, "--retry-failed") {
		t.Errorf("send output %q", out)
	}
	if !strings.Contains(errs, "msg=progress") || !strings.Contains(errs, "done=6") {
		t.Errorf("no progress log line on a non-terminal stderr:\n%s", errs)
	}
	st := readStatus(t, env, "1")
	var space, biomed bool
	for _, f := range st.Failures {
		switch f.Email {
		case "space@example.com":
			space = f.State == "failed" && f.Kind == "temporary" && f.Attempts == 1 && strings.Contains(f.Reply, "451 4.4.1")
		case "biomed@example.com":
			biomed = f.State == "bounced" && f.Kind == "recipient"
		}
	}
	if !space || !biomed {
		t.Errorf("failures %+v", st.Failures)
	}
	// One hard bounce with TIDINGS_BOUNCE_LIMIT=2 leaves the reader subscribed.
	if sub := mustRunCLI(t, env, "sub", "show", "biomed@example.com", "--json"); strings.Contains(sub, `"bounced"`) {
		t.Errorf("one hard bounce marked the subscription although the limit is 2: %s", sub)
	}

	fixed.Store(true)
	mustRunCLI(t, env, "send", "1", "--retry-failed")
	st = readStatus(t, env, "1")
	if st.Sent != 4 || st.Failed != 0 || st.Bounced != 1 || st.State != "done" {
		t.Errorf("after --retry-failed: %+v", st)
	}
	if n := r4Received(sink)["space@example.com"]; n != 1 {
		t.Errorf("space@example.com got %d copies", n)
	}
	if n := r4Received(sink)["biomed@example.com"]; n != 0 {
		t.Errorf("--retry-failed retried a hard bounce: %d copies", n)
	}

	for _, bad := range []struct{ name, value string }{
		{"TIDINGS_SEND_ATTEMPTS", "0"},
		{"TIDINGS_BOUNCE_LIMIT", "many"},
		{"TIDINGS_SEND_DATA_TIMEOUT", "5"},
		{"TIDINGS_SEND_DIAL_TIMEOUT", "-1s"},
	} {
		e := map[string]string{"TIDINGS_DB": env["TIDINGS_DB"], "TIDINGS_SMTP_URL": env["TIDINGS_SMTP_URL"], bad.name: bad.value}
		if _, errs, code := runCLI(t, e, "", "send", "1"); code != 2 || !strings.Contains(errs, bad.name) {
			t.Errorf("%s=%s: exit %d, stderr %q; want 2 naming the variable", bad.name, bad.value, code, errs)
		}
	}
}

// r4Received counts messages per recipient at a sink.
func r4Received(s *smtpsink.Server) map[string]int {
	m := map[string]int{}
	for _, msg := range s.Messages() {
		for _, to := range msg.To {
			m[to]++
		}
	}
	return m
}

// TestCtrlCStopsCleanlyAndResumes: a cancelled send (Ctrl-C) records
// what went out, exits 1 with the resume hint, and the next run sends the
// rest, each reader once.
func TestCtrlCStopsCleanlyAndResumes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var n atomic.Int32
	env, sink := sendEnv(t, smtpsink.Options{OnData: func(string, []string, []byte) error {
		if n.Add(1) == 2 {
			cancel() // Ctrl-C while the second message is in DATA
		}
		return nil
	}})
	env["TIDINGS_CONCURRENCY"] = "1"
	var out, errb bytes.Buffer
	code := NewApp(strings.NewReader(""), &out, &errb, func(k string) string { return env[k] }).Run(ctx, []string{"send", "1"})
	if code != 1 || !strings.Contains(errb.String(), "interrupted: 3 pending; run 'tidings send 1' to resume") {
		t.Fatalf("exit %d, stderr:\n%s", code, errb.String())
	}
	st := readStatus(t, env, "1")
	if st.Sent != 2 || st.Pending != 3 || sink.Count() != 2 {
		t.Errorf("after Ctrl-C: %+v, server has %d: the message in flight was not finished and recorded", st, sink.Count())
	}
	mustRunCLI(t, env, "send", "1")
	if st := readStatus(t, env, "1"); st.Sent != 5 || st.State != "done" {
		t.Errorf("after resuming: %+v", st)
	}
	for a, c := range r4Received(sink) {
		if c != 1 {
			t.Errorf("%s got %d copies", a, c)
		}
	}
}
