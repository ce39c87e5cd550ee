package schedule_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/schedule"
)

// notOurs is a Sender whose sends belong to another process.
type notOurs struct{ calls int }

func (n *notOurs) Send(context.Context, int64) error {
	n.calls++
	return fmt.Errorf("issue 1: %w: relays differ", schedule.ErrNotOurs)
}

// A send started by another process with other settings is not a
// failure of the daemon's: a warning that says so, no error, and a look
// again after the retry delay.
func TestSendOfAnotherProcessIsAWarning(t *testing.T) {
	d, c, st, list := fixture(t, time.Date(2024, 7, 1, 8, 0, 0, 0, time.UTC), "UTC")
	iss := addIssue(t, d, list, 1, "draft")
	if _, err := st.AddOnce(context.Background(), iss, c.Now().Add(time.Second), ""); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	snd := &notOurs{}
	s := schedule.New(schedule.Config{DB: d, Sender: snd, Now: c.Now, Retry: time.Minute,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	c.Add(time.Second)
	step(t, s)
	if snd.calls != 1 {
		t.Fatalf("%d sends, want 1", snd.calls)
	}
	if out := logs.String(); strings.Contains(out, "level=ERROR") || !strings.Contains(out, "level=WARN") ||
		!strings.Contains(out, "send left to the process that started it") {
		t.Errorf("log:\n%s", out)
	}
	c.Add(time.Minute)
	step(t, s)
	if snd.calls != 2 {
		t.Errorf("%d sends after the retry delay, want 2", snd.calls)
	}
}
