package ops

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/schedule"
	"github.com/tidings/tidings/smtpsink"
)

// engineSend is the daemon's adapter of the engine to the scheduler.
type engineSend struct{ e *mailer.Engine }

func (s engineSend) Send(ctx context.Context, issueID int64) error {
	_, err := s.e.Send(ctx, issueID, mailer.SendOptions{})
	return err
}

func (e *bulletinEnv) scheduler(eng *mailer.Engine) *schedule.Scheduler {
	return schedule.New(schedule.Config{DB: e.d, Sender: engineSend{eng}, Now: func() time.Time { return e.clock },
		Owner: "test-daemon", Logger: slog.New(slog.DiscardHandler)})
}

// TestSendNowIsStartedByTheScheduler: SendNow marks the issue for the
// daemon; the scheduler's next step sends it to every confirmed reader
// with articles; a second SendNow is a conflict.
func TestSendNowIsStartedByTheScheduler(t *testing.T) {
	sink := bulletinSink(t, smtpsink.Options{})
	e := newBulletinEnv(t, nil)
	id := e.issue.ID
	sch := e.scheduler(e.engine(t, sink))
	if ids, err := sch.Step(e.ctx); err != nil || len(ids) != 0 {
		t.Fatalf("before SendNow the scheduler sends %v (%v)", ids, err)
	}
	if _, err := e.s.SendNow(e.ctx, e.outer, id); !errors.Is(err, ErrForbidden) {
		t.Errorf("editor of another list: err = %v, want ErrForbidden", err)
	}
	n, err := e.s.SendNow(e.ctx, e.editor, id)
	if err != nil || n != 9 {
		t.Fatalf("SendNow = %d, %v; want 9 confirmed recipients", n, err)
	}
	if _, err := e.s.SendNow(e.ctx, e.editor, id); !errors.Is(err, ErrConflict) {
		t.Errorf("second SendNow: err = %v, want ErrConflict", err)
	}
	ids, err := sch.Step(e.ctx)
	if err != nil || len(ids) != 1 || ids[0] != id {
		t.Fatalf("scheduler step sent %v (%v), want [%d]", ids, err, id)
	}
	if got := e.one(t, `SELECT status FROM issues WHERE id = ?`, id); got != "sent" {
		t.Errorf("issue status %s, want sent", got)
	}
	if sink.Count() != 9 {
		t.Errorf("sink got %d messages, want 9", sink.Count())
	}
	if _, err := e.s.SendNow(e.ctx, e.editor, id); !errors.Is(err, ErrConflict) {
		t.Errorf("SendNow of a sent issue: err = %v, want ErrConflict", err)
	}
	st, err := e.s.Status(e.ctx, e.editor, id, -1)
	if err != nil || st.State != "done" || st.Sent != 9 || st.Pending != 0 {
		t.Errorf("status = %+v, %v", st, err)
	}
	acts := e.actions(t)
	if acts[len(acts)-1] != "send.start" {
		t.Errorf("audit %v, want send.start last", acts)
	}
}

// TestSendNowTakesOverAOneOffSchedule: a scheduled issue sent now does not
// fire again at its time.
func TestSendNowTakesOverAOneOffSchedule(t *testing.T) {
	e := newBulletinEnv(t, nil)
	id := e.issue.ID
	if _, err := e.s.Schedule(e.ctx, e.editor, id, "+2h", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.SendNow(e.ctx, e.editor, id); err != nil {
		t.Fatal(err)
	}
	if n := e.one(t, `SELECT count(*) FROM schedules WHERE issue_id = ? AND done = 0`, id); n != "0" {
		t.Errorf("%s pending schedules left", n)
	}
}

// gate holds the first message in the SMTP server until released, and
// slows the others, so a test can act while a send is under way.
type gate struct {
	once     sync.Once
	arrived  chan struct{}
	released chan struct{}
}

func newGate() *gate { return &gate{arrived: make(chan struct{}), released: make(chan struct{})} }

func (g *gate) onData(string, []string, []byte) error {
	first := false
	g.once.Do(func() { first = true })
	if first {
		close(g.arrived)
		<-g.released
		return nil
	}
	time.Sleep(20 * time.Millisecond)
	return nil
}

// TestPauseAndResumeSend: a paused send stops after the messages in
// flight, the daemon leaves it alone, and once resumed the daemon sends
// the rest: every reader gets exactly one copy.
func TestPauseAndResumeSend(t *testing.T) {
	g := newGate()
	sink := bulletinSink(t, smtpsink.Options{OnData: g.onData})
	e := newBulletinEnv(t, nil)
	id := e.issue.ID
	eng := e.engine(t, sink)
	if err := e.s.PauseSend(e.ctx, e.editor, id); !errors.Is(err, ErrConflict) {
		t.Errorf("pause of a draft: err = %v, want ErrConflict", err)
	}
	if _, err := e.s.SendNow(e.ctx, e.editor, id); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := eng.Send(e.ctx, id, mailer.SendOptions{})
		done <- err
	}()
	<-g.arrived
	if err := e.s.PauseSend(e.ctx, e.outer, id); !errors.Is(err, ErrForbidden) {
		t.Errorf("editor of another list pauses: err = %v", err)
	}
	if err := e.s.PauseSend(e.ctx, e.editor, id); err != nil {
		t.Fatal(err)
	}
	if err := e.s.PauseSend(e.ctx, e.editor, id); !errors.Is(err, ErrConflict) {
		t.Errorf("second pause: err = %v, want ErrConflict", err)
	}
	close(g.released)
	if err := <-done; !errors.Is(err, mailer.ErrPaused) {
		t.Fatalf("send returned %v, want ErrPaused", err)
	}
	st, err := e.s.Status(e.ctx, e.editor, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != "paused" || !st.Held || st.Pending == 0 || st.Sent == 0 {
		t.Fatalf("after pause: state %s held %v sent %d pending %d", st.State, st.Held, st.Sent, st.Pending)
	}
	sentAtPause := sink.Count()

	// The daemon does not resume a held send, nor does a direct Send.
	sch := e.scheduler(eng)
	if ids, err := sch.Step(e.ctx); err != nil || len(ids) != 0 {
		t.Errorf("scheduler took the paused send: %v (%v)", ids, err)
	}
	if _, err := eng.Send(e.ctx, id, mailer.SendOptions{}); !errors.Is(err, mailer.ErrPaused) {
		t.Errorf("engine started a held send: %v", err)
	}
	if sink.Count() != sentAtPause {
		t.Fatalf("%d messages went out while paused", sink.Count()-sentAtPause)
	}

	if err := e.s.ResumeSend(e.ctx, e.editor, id); err != nil {
		t.Fatal(err)
	}
	if err := e.s.ResumeSend(e.ctx, e.editor, id); !errors.Is(err, ErrConflict) {
		t.Errorf("second resume: err = %v, want ErrConflict", err)
	}
	if ids, err := sch.Step(e.ctx); err != nil || len(ids) != 1 {
		t.Fatalf("scheduler after resume sent %v (%v)", ids, err)
	}
	st, _ = e.s.Status(e.ctx, e.editor, id, 0)
	if st.State != "done" || st.Pending != 0 || st.Sent != 9 || sink.Count() != 9 {
		t.Errorf("after resume: state %s sent %d pending %d, sink %d", st.State, st.Sent, st.Pending, sink.Count())
	}
	seen := map[string]bool{}
	for _, m := range sink.Messages() {
		for _, to := range m.To {
			if seen[to] {
				t.Errorf("%s got two copies", to)
			}
			seen[to] = true
		}
	}
	acts := e.actions(t)
	if n := len(acts); n < 3 || acts[n-2] != "send.pause" || acts[n-1] != "send.resume" {
		t.Errorf("audit %v", acts)
	}
}

// TestCancelSend: cancelling skips every delivery not yet made, naming
// who cancelled; the one in flight stays sent; nothing resumes it.
func TestCancelSend(t *testing.T) {
	g := newGate()
	sink := bulletinSink(t, smtpsink.Options{OnData: g.onData})
	e := newBulletinEnv(t, nil)
	id := e.issue.ID
	eng := e.engine(t, sink)
	if _, err := e.s.SendNow(e.ctx, e.editor, id); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := eng.Send(e.ctx, id, mailer.SendOptions{})
		done <- err
	}()
	<-g.arrived
	if err := e.s.CancelSend(e.ctx, e.editor, id); err != nil {
		t.Fatal(err)
	}
	close(g.released)
	<-done
	st, err := e.s.Status(e.ctx, e.editor, id, 0)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != "done" || st.Sent != 1 || st.Skipped != 8 || st.Pending != 0 || !st.Held {
		t.Errorf("after cancel: state %s sent %d skipped %d pending %d held %v", st.State, st.Sent, st.Skipped, st.Pending, st.Held)
	}
	if got := e.one(t, `SELECT count(*) FROM deliveries WHERE issue_id = ? AND state = 'skipped' AND last_error = 'cancelled by ed@example.org'`, id); got != "8" {
		t.Errorf("%s deliveries skipped with the reason, want 8", got)
	}
	if got := e.one(t, `SELECT status FROM issues WHERE id = ?`, id); got != "sent" {
		t.Errorf("issue status %s, want sent", got)
	}
	if ids, _ := e.scheduler(eng).Step(e.ctx); len(ids) != 0 || sink.Count() != 1 {
		t.Errorf("after cancel the daemon sent %v; sink %d", ids, sink.Count())
	}
	if err := e.s.CancelSend(e.ctx, e.editor, id); !errors.Is(err, ErrConflict) {
		t.Errorf("second cancel: err = %v, want ErrConflict", err)
	}
}

// TestCancelBeforeTheDaemonStarts: a send cancelled before it began
// leaves the issue a draft that the queued daemon does not send, and that
// can be sent again later.
func TestCancelBeforeTheDaemonStarts(t *testing.T) {
	sink := bulletinSink(t, smtpsink.Options{})
	e := newBulletinEnv(t, nil)
	id := e.issue.ID
	eng := e.engine(t, sink)
	if _, err := e.s.SendNow(e.ctx, e.editor, id); err != nil {
		t.Fatal(err)
	}
	if err := e.s.CancelSend(e.ctx, e.editor, id); err != nil {
		t.Fatal(err)
	}
	if got := e.one(t, `SELECT status FROM issues WHERE id = ?`, id); got != "draft" {
		t.Errorf("issue status %s, want draft", got)
	}
	// A daemon that queued it before the cancel does not send it.
	if _, err := eng.Send(e.ctx, id, mailer.SendOptions{}); !errors.Is(err, mailer.ErrPaused) || sink.Count() != 0 {
		t.Errorf("queued send after cancel: %v, %d messages", err, sink.Count())
	}
	if _, err := e.s.SendNow(e.ctx, e.editor, id); err != nil {
		t.Fatalf("send again: %v", err)
	}
	if ids, err := e.scheduler(eng).Step(e.ctx); err != nil || len(ids) != 1 || sink.Count() != 9 {
		t.Errorf("send again: %v (%v), %d messages", ids, err, sink.Count())
	}
}

// TestPauseBeforeTheDaemonStarts: a send paused before the daemon took it
// is not started; resumed, it writes its recipient list and goes out.
func TestPauseBeforeTheDaemonStarts(t *testing.T) {
	sink := bulletinSink(t, smtpsink.Options{})
	e := newBulletinEnv(t, nil)
	id := e.issue.ID
	sch := e.scheduler(e.engine(t, sink))
	if _, err := e.s.SendNow(e.ctx, e.editor, id); err != nil {
		t.Fatal(err)
	}
	if err := e.s.PauseSend(e.ctx, e.editor, id); err != nil {
		t.Fatal(err)
	}
	if ids, _ := sch.Step(e.ctx); len(ids) != 0 || sink.Count() != 0 {
		t.Fatalf("paused before start: daemon sent %v", ids)
	}
	if err := e.s.ResumeSend(e.ctx, e.editor, id); err != nil {
		t.Fatal(err)
	}
	if ids, err := sch.Step(e.ctx); err != nil || len(ids) != 1 || sink.Count() != 9 {
		t.Errorf("after resume: %v (%v), %d messages", ids, err, sink.Count())
	}
}

// TestDaemonResumesAResumedSendAtOnce: a send the daemon was running when
// paused is retried at once after resume, not after the daemon's backoff
// for failed sends.
func TestDaemonResumesAResumedSendAtOnce(t *testing.T) {
	g := newGate()
	sink := bulletinSink(t, smtpsink.Options{OnData: g.onData})
	e := newBulletinEnv(t, nil)
	id := e.issue.ID
	sch := e.scheduler(e.engine(t, sink))
	if _, err := e.s.SendNow(e.ctx, e.editor, id); err != nil {
		t.Fatal(err)
	}
	stepped := make(chan []int64, 1)
	go func() {
		ids, _ := sch.Step(e.ctx)
		stepped <- ids
	}()
	<-g.arrived
	if err := e.s.PauseSend(e.ctx, e.editor, id); err != nil {
		t.Fatal(err)
	}
	close(g.released)
	if ids := <-stepped; len(ids) != 1 {
		t.Fatalf("first step sent %v", ids)
	}
	if ids, _ := sch.Step(e.ctx); len(ids) != 0 { // the daemon's next poll sees the hold
		t.Fatalf("paused send taken: %v", ids)
	}
	if err := e.s.ResumeSend(e.ctx, e.editor, id); err != nil {
		t.Fatal(err)
	}
	// Same instant: no backoff applies.
	if ids, err := sch.Step(e.ctx); err != nil || len(ids) != 1 {
		t.Fatalf("after resume the daemon sent %v (%v)", ids, err)
	}
	if st, _ := e.s.Status(e.ctx, e.editor, id, 0); st.State != "done" || sink.Count() != 9 {
		t.Errorf("state %s, %d messages", st.State, sink.Count())
	}
}

// TestStatusRateAndETA: the rate is the deliveries made between the
// status reads of the last minute; the ETA is what is pending at that
// rate.
func TestStatusRateAndETA(t *testing.T) {
	g := newGate()
	sink := bulletinSink(t, smtpsink.Options{OnData: g.onData})
	e := newBulletinEnv(t, nil)
	id := e.issue.ID
	if _, err := e.s.SendNow(e.ctx, e.editor, id); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := e.engine(t, sink).Send(e.ctx, id, mailer.SendOptions{})
		done <- err
	}()
	<-g.arrived
	st, err := e.s.Status(e.ctx, e.editor, id, 5)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != "running" || st.Rate != 0 || st.ETA != 0 {
		t.Fatalf("first read: state %s rate %v eta %v; want running with no rate yet", st.State, st.Rate, st.ETA)
	}
	// Four seconds later (by the service's clock) some went out.
	if err := e.s.PauseSend(e.ctx, e.editor, id); err != nil {
		t.Fatal(err)
	}
	close(g.released)
	<-done
	if err := e.s.ResumeSend(e.ctx, e.editor, id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.d.W.Exec(`UPDATE sends SET state = 'running' WHERE issue_id = ?`, id); err != nil {
		t.Fatal(err)
	}
	e.clock = e.clock.Add(4 * time.Second)
	st, err = e.s.Status(e.ctx, e.editor, id, 5)
	if err != nil {
		t.Fatal(err)
	}
	made := st.Total - st.Pending
	if made == 0 || st.Pending == 0 {
		t.Fatalf("made %d pending %d: the test needs a send half done", made, st.Pending)
	}
	if want := float64(made) / 4; st.Rate != want {
		t.Errorf("rate %v, want %v", st.Rate, want)
	}
	if want := time.Duration(float64(st.Pending) / st.Rate * float64(time.Second)); st.ETA != want {
		t.Errorf("eta %v, want %v", st.ETA, want)
	}
	// A minute later the old sample is gone and nothing moved: rate 0.
	e.clock = e.clock.Add(2 * time.Minute)
	if st, _ = e.s.Status(e.ctx, e.editor, id, 5); st.Rate != 0 || st.ETA != 0 {
		t.Errorf("idle: rate %v eta %v", st.Rate, st.ETA)
	}
}

// TestSendNowNeedsABaseURL: without the public base URL mail would carry
// no working links, so the daemon is not handed the issue.
func TestSendNowNeedsABaseURL(t *testing.T) {
	e := newBulletinEnv(t, nil)
	e.s.deps.Links.Base = ""
	if _, err := e.s.SendNow(e.ctx, e.editor, e.issue.ID); !errors.Is(err, ErrUnavailable) {
		t.Errorf("err = %v, want ErrUnavailable", err)
	}
	if got := e.one(t, `SELECT status FROM issues WHERE id = ?`, e.issue.ID); got != "draft" {
		t.Errorf("issue status %s, want draft", got)
	}
}
