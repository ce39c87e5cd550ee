package inbound

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/bounce"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/token"
)

// errDuplicate rolls a transaction back when its message was seen before.
var errDuplicate = errors.New("message already processed")

// commit runs fn in one write transaction that also records key in
// inbound_seen. The effect and the "seen" mark commit together or not at
// all, so a message offered again (POP3 after a crash before DELE, SMTP
// retry after a lost reply) is recognised and has no second effect.
func (p *Processor) commit(ctx context.Context, key string, fn func(tx *sql.Tx, now int64) error) (dup bool, err error) {
	now := db.Unix(p.cfg.Now())
	err = p.cfg.DB.WriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "INSERT INTO inbound_seen (key, seen_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING", key, now)
		if err != nil {
			return fmt.Errorf("record inbound message: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errDuplicate
		}
		if err := p.prune(ctx, tx, now); err != nil {
			return err
		}
		if fn == nil {
			return nil
		}
		return fn(tx, now)
	})
	if errors.Is(err, errDuplicate) {
		return true, nil
	}
	return false, err
}

// prune forgets processed-message keys older than seenTTL, once a day.
func (p *Processor) prune(ctx context.Context, tx *sql.Tx, now int64) error {
	p.listsMu.Lock()
	due := now-p.lastPrune.Unix() >= 24*3600
	if due {
		p.lastPrune = db.Time(now)
	}
	p.listsMu.Unlock()
	if !due {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM inbound_seen WHERE seen_at < ?", now-int64(seenTTL.Seconds())); err != nil {
		return fmt.Errorf("prune inbound_seen: %w", err)
	}
	return nil
}

// seen reports whether key was recorded before (for effects that cannot
// share the transaction, like sending an answer).
func (p *Processor) seen(ctx context.Context, key string) (bool, error) {
	var n int
	if err := p.cfg.DB.R.QueryRowContext(ctx, "SELECT count(*) FROM inbound_seen WHERE key = ?", key).Scan(&n); err != nil {
		return false, fmt.Errorf("read inbound_seen: %w", err)
	}
	return n > 0, nil
}

func duplicate() Result { return Result{Action: ActionDuplicate, Reason: "already processed"} }

// ignore records the message as handled without any effect.
func (p *Processor) ignore(ctx context.Context, key, reason string) (Result, error) {
	dup, err := p.commit(ctx, key, nil)
	if err != nil {
		return Result{}, err
	}
	if dup {
		return duplicate(), nil
	}
	return Result{Action: ActionIgnored, Reason: reason}, nil
}

// subscriptionStatus is the reader's status on the list, "" when the
// subscription (or the person) no longer exists — e.g. erased by
// `sub delete` after the issue went out.
func subscriptionStatus(ctx context.Context, tx *sql.Tx, listID, subID int64) (tidings.Status, error) {
	var st string
	err := tx.QueryRowContext(ctx, "SELECT status FROM subscriptions WHERE list_id = ? AND subscriber_id = ?", listID, subID).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read subscription: %w", err)
	}
	return tidings.Status(st), nil
}

// issueOf is the token's issue when it still exists on that list.
func issueOf(ctx context.Context, tx *sql.Tx, c token.Claims) (sql.NullInt64, error) {
	if c.IssueID == 0 {
		return sql.NullInt64{}, nil
	}
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM issues WHERE id = ? AND list_id = ?", c.IssueID, c.ListID).Scan(&n); err != nil {
		return sql.NullInt64{}, fmt.Errorf("read issue: %w", err)
	}
	return sql.NullInt64{Int64: c.IssueID, Valid: n > 0}, nil
}

// active statuses are the ones a bounce or complaint takes a reader out of.
const activeStatuses = "('pending', 'confirmed')"

// bounce records a bounce, marks the delivery and applies the rules.
func (p *Processor) bounce(ctx context.Context, env Envelope, c token.Claims, b bounceInfo) (Result, error) {
	res := Result{Action: ActionBounce, Kind: b.kind, Code: b.code, Diagnostic: b.diagnostic,
		ListID: c.ListID, SubscriberID: c.SubscriberID, IssueID: c.IssueID}
	rules := p.cfg.Rules
	dup, err := p.commit(ctx, env.Key, func(tx *sql.Tx, now int64) error {
		st, err := subscriptionStatus(ctx, tx, c.ListID, c.SubscriberID)
		if err != nil {
			return err
		}
		if st == "" {
			res = Result{Action: ActionIgnored, Reason: "the reader is no longer on the list", ListID: c.ListID, SubscriberID: c.SubscriberID}
			return nil
		}
		issue, err := issueOf(ctx, tx, c)
		if err != nil {
			return err
		}
		// The delivery row records the bounce: a hard one ends it as
		// bounced (fail_kind recipient, as the mailer writes a hard
		// bounce at send time); a soft one is noted on it and leaves its
		// state, because the reader stays on the list.
		switch {
		case !issue.Valid:
		case b.kind == KindHard:
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'bounced', fail_kind = 'recipient', last_error = ?, updated_at = ?
				WHERE issue_id = ? AND subscriber_id = ? AND state <> 'complained'`,
				clip("bounced: "+b.code+" "+b.diagnostic), now, issue.Int64, c.SubscriberID); err != nil {
				return fmt.Errorf("mark delivery bounced: %w", err)
			}
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET last_error = ?, updated_at = ?
				WHERE issue_id = ? AND subscriber_id = ? AND state NOT IN ('bounced', 'complained')`,
				clip("soft bounce: "+b.code+" "+b.diagnostic), now, issue.Int64, c.SubscriberID); err != nil {
				return fmt.Errorf("note soft bounce on delivery: %w", err)
			}
		}
		// One count whatever told us of the bounce: the mailer records the
		// refusals it sees at send time through the same rule.
		var issueID int64
		if issue.Valid {
			issueID = issue.Int64
		}
		o, err := bounce.Record(ctx, tx, bounce.Event{SubscriberID: c.SubscriberID, ListID: c.ListID, IssueID: issueID,
			Kind: b.kind, Code: b.code, Diagnostic: b.diagnostic, Source: env.Source + "/" + b.source, At: time.Unix(now, 0)}, rules)
		if err != nil {
			return err
		}
		if o.Count < o.Limit {
			res.Reason = fmt.Sprintf("%d of %d %s bounces", o.Count, o.Limit, b.kind)
		}
		res.Changed = o.Marked
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	if dup {
		return duplicate(), nil
	}
	return res, nil
}

// complaint unsubscribes the reader at once and counts the complaint on
// the issue: mailbox providers judge a sender by its complaint rate.
func (p *Processor) complaint(ctx context.Context, env Envelope, c token.Claims, m *message) (Result, error) {
	diag := "abuse report"
	if fr := m.findPart("message/feedback-report"); fr != nil {
		var parts []string
		for _, l := range strings.Split(string(fr.Content), "\n") {
			k, v, ok := strings.Cut(l, ":")
			if !ok {
				continue
			}
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "feedback-type", "user-agent", "source-ip":
				parts = append(parts, strings.TrimSpace(k)+": "+strings.TrimSpace(v))
			}
		}
		if len(parts) > 0 {
			diag = strings.Join(parts, "; ")
		}
	}
	res := Result{Action: ActionComplaint, Kind: KindComplaint, Diagnostic: clip(diag),
		ListID: c.ListID, SubscriberID: c.SubscriberID, IssueID: c.IssueID}
	dup, err := p.commit(ctx, env.Key, func(tx *sql.Tx, now int64) error {
		st, err := subscriptionStatus(ctx, tx, c.ListID, c.SubscriberID)
		if err != nil {
			return err
		}
		if st == "" {
			res = Result{Action: ActionIgnored, Reason: "the reader is no longer on the list", ListID: c.ListID, SubscriberID: c.SubscriberID}
			return nil
		}
		issue, err := issueOf(ctx, tx, c)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO bounces (subscriber_id, list_id, issue_id, kind, code, diagnostic, source, at)
			VALUES (?, ?, ?, 'complaint', '', ?, ?, ?)`, c.SubscriberID, c.ListID, issue, res.Diagnostic, env.Source+"/arf", now); err != nil {
			return fmt.Errorf("record complaint: %w", err)
		}
		if issue.Valid {
			if _, err := tx.ExecContext(ctx, "UPDATE deliveries SET state = 'complained', updated_at = ? WHERE issue_id = ? AND subscriber_id = ?",
				now, issue.Int64, c.SubscriberID); err != nil {
				return fmt.Errorf("mark delivery complained: %w", err)
			}
		}
		r, err := tx.ExecContext(ctx, "UPDATE subscriptions SET status = 'unsubscribed', updated_at = ? WHERE list_id = ? AND subscriber_id = ? AND status IN "+activeStatuses,
			now, c.ListID, c.SubscriberID)
		if err != nil {
			return fmt.Errorf("unsubscribe after complaint: %w", err)
		}
		k, _ := r.RowsAffected()
		res.Changed = k > 0
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	if dup {
		return duplicate(), nil
	}
	return res, nil
}

// unsubscribe handles mail to the List-Unsubscribe mailto address.
func (p *Processor) unsubscribe(ctx context.Context, key string, listID, subID int64) (Result, error) {
	res := Result{Action: ActionUnsubscribe, ListID: listID, SubscriberID: subID}
	dup, err := p.commit(ctx, key, func(tx *sql.Tx, now int64) error {
		r, err := tx.ExecContext(ctx, "UPDATE subscriptions SET status = 'unsubscribed', updated_at = ? WHERE list_id = ? AND subscriber_id = ? AND status IN "+activeStatuses,
			now, listID, subID)
		if err != nil {
			return fmt.Errorf("unsubscribe: %w", err)
		}
		k, _ := r.RowsAffected()
		res.Changed = k > 0
		if !res.Changed {
			res.Reason = "not subscribed (any more)"
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	if dup {
		return duplicate(), nil
	}
	return res, nil
}
