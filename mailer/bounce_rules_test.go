package mailer

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tidings/tidings/bounce"
	"github.com/tidings/tidings/smtpsink"
)

// nextIssue adds another issue like the fixture's, so one reader can be
// refused several issues in a row.
func (f *fixture) nextIssue(t *testing.T, number int) int64 {
	t.Helper()
	var id int64
	err := f.d.WriteTx(context.Background(), func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO issues (list_id, number, title, status, created_at) VALUES (?, ?, 'next', 'draft', 1)`, f.listID, number)
		if err != nil {
			return err
		}
		id, _ = res.LastInsertId()
		_, err = tx.Exec(`INSERT INTO articles (issue_id, position, title, body) SELECT ?, position, title, body FROM articles WHERE issue_id = ?`, id, f.issueID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Refusals at RCPT that do not say the mailbox is gone (mailbox full,
// policy) are soft bounces: recorded in bounces like the same code in a
// DSN, counted with them, and the reader is marked bounced at the soft
// threshold. Before, they were failed deliveries and nothing else, so a
// full mailbox stayed "confirmed" for ever.
func TestSoftBounceAtSendTime(t *testing.T) {
	const victim = "reader0002@example.com"
	cases := []struct {
		name     string
		code     int
		enhanced string
		text     string
	}{
		{"mailbox full", 552, "5.2.2", "mailbox full"},
		{"policy", 550, "5.7.1", "rejected by policy"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, 4)
			sink := startSink(t, smtpsink.Options{OnRcpt: func(_, to string) error {
				if to == victim {
					return smtpsink.Reply(c.code, c.enhanced, c.text)
				}
				return nil
			}})
			cfg := fastConfig(sinkRelay(t, sink))
			cfg.SoftLimit, cfg.SoftWindow = 2, 24*time.Hour
			status := func() string {
				return f.scalar(t, `SELECT s.status FROM subscriptions s JOIN subscribers p ON p.id = s.subscriber_id WHERE p.email = ?`, victim)
			}

			rep, err := f.engine(cfg).Send(testCtx(t), f.issueID, SendOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Failed != 1 || rep.Sent != len(f.deliverable())-1 {
				t.Errorf("first issue: %+v", rep)
			}
			want := fmt.Sprintf("1/%s/soft/smtp", c.enhanced)
			if got := f.scalar(t, `SELECT count(*) || '/' || max(code) || '/' || max(kind) || '/' || max(source) FROM bounces WHERE list_id = ?`, f.listID); got != want {
				t.Errorf("bounces after one refusal: %s, want %s", got, want)
			}
			if got := f.log(t)[victim]; got.State != "failed" || got.FailKind != string(KindPermanent) {
				t.Errorf("delivery %+v: want failed/permanent", got)
			}
			if st := status(); st != "confirmed" {
				t.Fatalf("after one soft bounce of 2: %s", st)
			}

			second := f.nextIssue(t, 8)
			if _, err := f.engine(cfg).Send(testCtx(t), second, SendOptions{}); err != nil {
				t.Fatal(err)
			}
			if st := status(); st != "bounced" {
				t.Errorf("after two soft bounces of 2: %s, want bounced", st)
			}
			if n := f.scalar(t, `SELECT count(*) FROM bounces WHERE kind = 'soft'`); n != "2" {
				t.Errorf("%s soft bounces, want 2", n)
			}
		})
	}
}

// One count whatever the source: a soft bounce that came back as a DSN
// and one refused at send time together reach the threshold.
func TestSoftBouncesFromMailAndSMTPCountTogether(t *testing.T) {
	const victim = "reader0001@example.com"
	f := newFixture(t, 4)
	var victimID int64
	for _, rc := range f.subs {
		if rc.Email == victim {
			victimID = rc.SubscriberID
		}
	}
	err := f.d.WriteTx(context.Background(), func(tx *sql.Tx) error {
		_, err := bounce.Record(context.Background(), tx, bounce.Event{SubscriberID: victimID, ListID: f.listID,
			Kind: bounce.Soft, Code: "5.2.2", Diagnostic: "mailbox full", Source: "dsn/report", At: time.Now()}, bounce.Rules{SoftLimit: 2})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sink := startSink(t, smtpsink.Options{OnRcpt: func(_, to string) error {
		if to == victim {
			return smtpsink.Reply(552, "5.2.2", "mailbox full")
		}
		return nil
	}})
	cfg := fastConfig(sinkRelay(t, sink))
	cfg.SoftLimit = 2
	if _, err := f.engine(cfg).Send(testCtx(t), f.issueID, SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if st := f.scalar(t, `SELECT status FROM subscriptions WHERE subscriber_id = ?`, victimID); st != "bounced" {
		t.Errorf("one DSN and one SMTP soft bounce with limit 2: %s, want bounced", st)
	}
}

// A temporary refusal of this reader's copy at RCPT (452 4.2.2 mailbox
// full) that outlasts every attempt is a soft bounce, as the same code in
// a DSN whose sender gave up is: once, when the delivery fails for good,
// not once per try. A transport failure (no reply) or a temporary reply at
// another stage is not about the reader and counts against nobody.
func TestTemporaryRefusalAtRcptThatOutlastsRetriesIsSoftBounce(t *testing.T) {
	const victim = "reader0002@example.com"
	f := newFixture(t, 4)
	var refused atomic.Int64
	sink := startSink(t, smtpsink.Options{OnRcpt: func(_, to string) error {
		if to == victim {
			refused.Add(1)
			return smtpsink.Reply(452, "4.2.2", "mailbox full, try later")
		}
		return nil
	}})
	cfg := fastConfig(sinkRelay(t, sink))
	cfg.SoftLimit = 1
	rep, err := f.engine(cfg).Send(testCtx(t), f.issueID, SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 1 {
		t.Errorf("report %+v: want one failed delivery", rep)
	}
	if got := f.log(t)[victim]; got.State != "failed" || got.FailKind != string(KindTemporary) {
		t.Errorf("delivery %+v: want failed/temporary", got)
	}
	if got := f.scalar(t, `SELECT count(*) || '/' || max(code) || '/' || max(kind) || '/' || max(source) FROM bounces`); got != "1/4.2.2/soft/smtp" {
		t.Errorf("bounces after %d refused tries: %s, want one soft bounce 4.2.2 from smtp", cfg.MaxAttempts, got)
	}
	if st := f.scalar(t, `SELECT s.status FROM subscriptions s JOIN subscribers p ON p.id = s.subscriber_id WHERE p.email = ?`, victim); st != "bounced" {
		t.Errorf("reader after one soft bounce of 1: %s, want bounced", st)
	}
	// The operator retries the failed delivery (send --retry-failed) and it
	// is given up on again: the same refusal of the same issue, not another.
	if _, err := f.d.W.Exec(`UPDATE subscriptions SET status = 'confirmed'`); err != nil {
		t.Fatal(err)
	}
	before := refused.Load()
	cfg.SoftLimit = 2
	if _, err := f.engine(cfg).Send(testCtx(t), f.issueID, SendOptions{RetryFailed: true}); err != nil {
		t.Fatal(err)
	}
	if refused.Load() == before {
		t.Fatal("--retry-failed did not try the refused delivery again")
	}
	if n := f.scalar(t, `SELECT count(*) FROM bounces`); n != "1" {
		t.Errorf("%s bounces after the same issue was refused twice, want 1", n)
	}

	// Refused at DATA with a 4xx until the attempts run out: the message,
	// not the address; no bounce. Nor is the relay's own trouble at RCPT.
	for _, c := range []struct {
		code     int
		enhanced string
		want     bool
	}{
		{452, "4.2.2", true}, {450, "4.2.1", true}, {450, "4.1.1", true}, {450, "", true},
		{451, "4.3.0", false}, {450, "4.4.1", false}, {452, "", false}, {450, "4.7.1", false},
	} {
		v := verdict{rcpt: true, code: c.code, enhanced: c.enhanced}
		if v.aboutMailbox() != c.want {
			t.Errorf("%d %s at RCPT: about the mailbox %v, want %v", c.code, c.enhanced, !c.want, c.want)
		}
		v.rcpt = false
		if v.aboutMailbox() {
			t.Errorf("%d %s at another stage: about the mailbox", c.code, c.enhanced)
		}
	}
	g := newFixture(t, 4)
	sink2 := startSink(t, smtpsink.Options{OnData: func(_ string, to []string, _ []byte) error {
		if to[0] == victim {
			return smtpsink.Reply(451, "4.3.0", "try again later")
		}
		return nil
	}})
	if _, err := g.engine(fastConfig(sinkRelay(t, sink2))).Send(testCtx(t), g.issueID, SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := g.scalar(t, `SELECT count(*) FROM bounces`); n != "0" {
		t.Errorf("a 4xx at DATA recorded %s bounces", n)
	}
}
