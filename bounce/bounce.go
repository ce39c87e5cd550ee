// Package bounce is the one rule for counting a bounce against a reader,
// whatever told us of it: an SMTP reply while sending (package mailer) or a
// delivery status notification that came back by mail (package inbound).
// A reader is judged by one count, so both sources write the same row and
// apply the same thresholds here.
package bounce

import (
	"context"
	"database/sql"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/tidings/tidings"
)

// Kinds of bounce.
const (
	Hard = "hard" // the address is dead: tidings.MailboxGone
	Soft = "soft" // anything else that refused this reader's copy
)

// KindOf is the kind of a refusal with this enhanced status code.
func KindOf(enhanced string) string {
	if tidings.MailboxGone(enhanced) {
		return Hard
	}
	return Soft
}

// Rules decide when bounces take a reader off a list.
type Rules struct {
	HardLimit  int           // hard bounces before the subscription is marked bounced; default 1
	SoftLimit  int           // soft bounces within SoftWindow before it is; default 3
	SoftWindow time.Duration // default 30 days
}

// DefaultRules: one hard bounce, or three soft bounces in 30 days.
var DefaultRules = Rules{HardLimit: 1, SoftLimit: 3, SoftWindow: 30 * 24 * time.Hour}

// WithDefaults fills the zero fields from DefaultRules.
func (r Rules) WithDefaults() Rules {
	if r.HardLimit <= 0 {
		r.HardLimit = DefaultRules.HardLimit
	}
	if r.SoftLimit <= 0 {
		r.SoftLimit = DefaultRules.SoftLimit
	}
	if r.SoftWindow <= 0 {
		r.SoftWindow = DefaultRules.SoftWindow
	}
	return r
}

// Event is one bounce of one reader's copy.
type Event struct {
	SubscriberID int64
	ListID       int64
	IssueID      int64 // 0 when the bounce names no issue
	Kind         string
	Code         string // enhanced status code, e.g. 5.2.2
	Diagnostic   string
	Source       string // smtp | dsn/… | pop3/…
	At           time.Time
}

// Outcome is what recording a bounce did.
type Outcome struct {
	Count  int  // bounces of this kind that count now (soft: within the window)
	Limit  int  // the threshold for this kind
	Marked bool // the subscription was marked bounced by this event
}

// activeStatuses are the standings a bounce can end: a reader who already
// left or was blocked keeps that standing.
const activeStatuses = "('pending', 'confirmed')"

// Record writes the bounce inside tx (the caller's transaction, so the
// bounce and whatever else the caller records commit together) and marks
// the subscription bounced once the reader has reached the rules' limit.
func Record(ctx context.Context, tx *sql.Tx, e Event, r Rules) (Outcome, error) {
	r = r.WithDefaults()
	if e.Kind != Hard && e.Kind != Soft {
		return Outcome{}, fmt.Errorf("bounce kind %q: want hard or soft", e.Kind)
	}
	now := e.At.Unix()
	var issue any
	if e.IssueID != 0 {
		issue = e.IssueID
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO bounces (subscriber_id, list_id, issue_id, kind, code, diagnostic, source, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.SubscriberID, e.ListID, issue, e.Kind, e.Code, clip(e.Diagnostic), e.Source, now); err != nil {
		return Outcome{}, fmt.Errorf("record %s bounce: %w", e.Kind, err)
	}
	var o Outcome
	var err error
	if e.Kind == Hard {
		o.Limit = r.HardLimit
		err = tx.QueryRowContext(ctx, `SELECT count(*) FROM bounces WHERE subscriber_id = ? AND list_id = ? AND kind = 'hard'`,
			e.SubscriberID, e.ListID).Scan(&o.Count)
	} else {
		o.Limit = r.SoftLimit
		err = tx.QueryRowContext(ctx, `SELECT count(*) FROM bounces WHERE subscriber_id = ? AND list_id = ? AND kind = 'soft' AND at > ?`,
			e.SubscriberID, e.ListID, now-int64(r.SoftWindow/time.Second)).Scan(&o.Count)
	}
	if err != nil {
		return Outcome{}, fmt.Errorf("count %s bounces: %w", e.Kind, err)
	}
	if o.Count < o.Limit {
		return o, nil
	}
	res, err := tx.ExecContext(ctx, `UPDATE subscriptions SET status = 'bounced', updated_at = ?
		WHERE list_id = ? AND subscriber_id = ? AND status IN `+activeStatuses, now, e.ListID, e.SubscriberID)
	if err != nil {
		return Outcome{}, fmt.Errorf("mark subscription bounced: %w", err)
	}
	n, _ := res.RowsAffected()
	o.Marked = n > 0
	return o, nil
}

// clip keeps a diagnostic to a size worth storing.
func clip(s string) string {
	const max = 1000
	if len(s) <= max {
		return s
	}
	s = s[:max]
	for i := 0; i < utf8.UTFMax && !utf8.ValidString(s); i++ { // do not cut a character in half
		s = s[:len(s)-1]
	}
	return s
}
