package ops

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/inbound"
	"github.com/tidings/tidings/mailer"
)

// SendNow hands the issue to the daemon: the issue becomes "sending" and
// the running scheduler starts it at its next poll (a second or two). An
// issue already sent or being sent is ErrConflict; a pending one-off
// schedule of the issue is marked fired. It returns the number of
// confirmed recipients.
func (s *Service) SendNow(ctx context.Context, a tidings.Actor, issueID int64) (recipients int, err error) {
	listID, err := s.issueListID(ctx, a, issueID, PermEdit)
	if err != nil {
		return 0, err
	}
	if s.deps.Links.Base == "" {
		return 0, fmt.Errorf("no base URL is configured, so mail would carry no working links: %w", ErrUnavailable)
	}
	now := s.now()
	err = s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		var status string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM issues WHERE id = ?`, issueID).Scan(&status); err != nil {
			return fmt.Errorf("issue %d: %w", issueID, err)
		}
		switch tidings.IssueStatus(status) {
		case tidings.IssueSent:
			return fmt.Errorf("issue %d was already sent: %w", issueID, ErrConflict)
		case tidings.IssueSending:
			return fmt.Errorf("issue %d is being sent now: %w", issueID, ErrConflict)
		}
		// A send cancelled before it began left only its hold behind.
		if _, err := tx.ExecContext(ctx, `DELETE FROM sends WHERE issue_id = ? AND state = 'done' AND held_by LIKE 'cancel:%'
			AND NOT EXISTS (SELECT 1 FROM deliveries WHERE issue_id = ?)`, issueID, issueID); err != nil {
			return err
		}
		var state string
		err := tx.QueryRowContext(ctx, `SELECT state FROM sends WHERE issue_id = ?`, issueID).Scan(&state)
		if err == nil {
			return fmt.Errorf("issue %d already has a send (%s): %w", issueID, state, ErrConflict)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE schedules SET done = 1, last_run = ? WHERE issue_id = ? AND done = 0`, db.Unix(now), issueID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE issues SET status = 'sending' WHERE id = ?`, issueID); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM subscriptions WHERE list_id = ? AND status = 'confirmed'`, listID).Scan(&recipients); err != nil {
			return err
		}
		return s.record(ctx, tx, a, auditEntry{Action: "send.start", ObjectKind: "issue", ObjectID: strconv.FormatInt(issueID, 10), ListID: listID,
			Detail: map[string]any{"recipients": recipients, "was": status}})
	})
	if err != nil {
		return 0, err
	}
	return recipients, nil
}

// sendState is the send of an issue as its controls need it.
type sendState struct {
	issueStatus string
	exists      bool
	state       string
	held        string
}

func readSendState(ctx context.Context, tx *sql.Tx, issueID int64) (sendState, error) {
	var st sendState
	if err := tx.QueryRowContext(ctx, `SELECT status FROM issues WHERE id = ?`, issueID).Scan(&st.issueStatus); err != nil {
		return st, fmt.Errorf("issue %d: %w", issueID, err)
	}
	err := tx.QueryRowContext(ctx, `SELECT state, held_by FROM sends WHERE issue_id = ?`, issueID).Scan(&st.state, &st.held)
	switch {
	case err == nil:
		st.exists = true
	case !errors.Is(err, sql.ErrNoRows):
		return st, fmt.Errorf("send of issue %d: %w", issueID, err)
	}
	return st, nil
}

// PauseSend holds a send: the engine stops claiming its deliveries (the
// messages in flight finish) and the daemon leaves it until ResumeSend.
func (s *Service) PauseSend(ctx context.Context, a tidings.Actor, issueID int64) error {
	listID, err := s.issueListID(ctx, a, issueID, PermEdit)
	if err != nil {
		return err
	}
	now := db.Unix(s.now())
	return s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		st, err := readSendState(ctx, tx, issueID)
		if err != nil {
			return err
		}
		if st.issueStatus != string(tidings.IssueSending) || (st.exists && st.state == "done") {
			return fmt.Errorf("issue %d is not being sent (it is %s): %w", issueID, st.issueStatus, ErrConflict)
		}
		if st.held != "" {
			return fmt.Errorf("the send of issue %d is already paused: %w", issueID, ErrConflict)
		}
		hold, reason := "pause:"+a.Name, "paused by "+a.Name
		switch {
		case !st.exists:
			// Not started yet: the hold keeps the daemon from starting it.
			// 'preparing' makes the engine write the delivery log on resume.
			_, err = tx.ExecContext(ctx, `INSERT INTO sends (issue_id, state, reason, started_at, held_by) VALUES (?, 'preparing', ?, ?, ?)`,
				issueID, reason, now, hold)
		case st.state == "running":
			_, err = tx.ExecContext(ctx, `UPDATE sends SET state = 'paused', reason = ?, held_by = ? WHERE issue_id = ?`, reason, hold, issueID)
		default: // preparing (its log must still be written) or paused by the engine
			_, err = tx.ExecContext(ctx, `UPDATE sends SET reason = ?, held_by = ? WHERE issue_id = ?`, reason, hold, issueID)
		}
		if err != nil {
			return fmt.Errorf("pause send of issue %d: %w", issueID, err)
		}
		return s.record(ctx, tx, a, auditEntry{Action: "send.pause", ObjectKind: "issue", ObjectID: strconv.FormatInt(issueID, 10), ListID: listID})
	})
}

// ResumeSend releases a paused send; the daemon resumes it at its next
// poll.
func (s *Service) ResumeSend(ctx context.Context, a tidings.Actor, issueID int64) error {
	listID, err := s.issueListID(ctx, a, issueID, PermEdit)
	if err != nil {
		return err
	}
	return s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		st, err := readSendState(ctx, tx, issueID)
		if err != nil {
			return err
		}
		if len(st.held) < 6 || st.held[:6] != "pause:" || st.issueStatus != string(tidings.IssueSending) {
			return fmt.Errorf("the send of issue %d is not paused: %w", issueID, ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sends SET held_by = '', reason = 'resumed by ' || ? WHERE issue_id = ?`, a.Name, issueID); err != nil {
			return fmt.Errorf("resume send of issue %d: %w", issueID, err)
		}
		return s.record(ctx, tx, a, auditEntry{Action: "send.resume", ObjectKind: "issue", ObjectID: strconv.FormatInt(issueID, 10), ListID: listID})
	})
}

// CancelSend ends a send for good: every delivery not yet made is
// skipped, naming who cancelled; what went out stays sent and the issue
// counts as sent. A send not started yet is simply called off: the issue
// goes back to draft. A send whose recipient list is still being written
// cannot be cancelled for a moment (ErrConflict): pause it first.
func (s *Service) CancelSend(ctx context.Context, a tidings.Actor, issueID int64) error {
	listID, err := s.issueListID(ctx, a, issueID, PermEdit)
	if err != nil {
		return err
	}
	now := db.Unix(s.now())
	return s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		st, err := readSendState(ctx, tx, issueID)
		if err != nil {
			return err
		}
		if st.issueStatus != string(tidings.IssueSending) || (st.exists && st.state == "done") {
			return fmt.Errorf("issue %d is not being sent (it is %s): %w", issueID, st.issueStatus, ErrConflict)
		}
		hold, reason := "cancel:"+a.Name, "cancelled by "+a.Name
		detail := map[string]any{}
		var n int64
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM deliveries WHERE issue_id = ?`, issueID).Scan(&n); err != nil {
			return err
		}
		switch {
		case !st.exists || (st.state == "preparing" && n == 0 && st.held != ""):
			// Never started (or held before its log was written): nothing
			// went out. The hold stops a daemon that already queued it.
			if _, err := tx.ExecContext(ctx, `INSERT INTO sends (issue_id, state, reason, started_at, finished_at, held_by) VALUES (?, 'done', ?, ?, ?, ?)
				ON CONFLICT (issue_id) DO UPDATE SET state = 'done', reason = excluded.reason, finished_at = excluded.finished_at, held_by = excluded.held_by`,
				issueID, reason, now, now, hold); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE issues SET status = 'draft' WHERE id = ?`, issueID); err != nil {
				return err
			}
			detail["started"] = false
		case st.state == "preparing" && st.held == "":
			return fmt.Errorf("the send of issue %d is writing its recipient list: pause it, or try again in a moment: %w", issueID, ErrConflict)
		default:
			res, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'skipped', last_error = ?, lease_owner = '', lease_until = 0, updated_at = ?
				WHERE issue_id = ? AND state = 'pending'`, reason, now, issueID)
			if err != nil {
				return fmt.Errorf("cancel send of issue %d: %w", issueID, err)
			}
			skipped, _ := res.RowsAffected()
			if _, err := tx.ExecContext(ctx, `UPDATE sends SET state = 'done', reason = ?, held_by = ?, finished_at = ? WHERE issue_id = ?`,
				reason, hold, now, issueID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE issues SET status = 'sent', sent_at = coalesce(sent_at, ?) WHERE id = ?`, now, issueID); err != nil {
				return err
			}
			detail["skipped"] = skipped
		}
		return s.record(ctx, tx, a, auditEntry{Action: "send.cancel", ObjectKind: "issue", ObjectID: strconv.FormatInt(issueID, 10), ListID: listID, Detail: detail})
	})
}

// SendStatus is where the send stands: totals by state, rate, ETA and the
// latest failures with their SMTP replies.
type SendStatus struct {
	mailer.Status
	Bounces      int                 // readers who bounced or complained after this issue
	BounceCounts inbound.IssueCounts // the same by kind
	Held         bool                // an editor paused or cancelled it
	Rate         float64             // messages per second over the last minute
	ETA          time.Duration       // 0 when unknown or done
}

// rateWindow is how far back Status looks for the sending rate.
const rateWindow = time.Minute

// progressSample is how many deliveries were final at a time.
type progressSample struct {
	at   time.Time
	done int
}

// rates keeps, per issue, the samples Status took in the last minute:
// the rate comes from the change between the oldest and the newest, so it
// costs no scan of the delivery log (a console polling the status makes
// the samples).
type rates struct {
	mu sync.Mutex
	by map[rateKey][]progressSample
}

// rateKey is one issue of one database: a process may open several.
type rateKey struct {
	d       *db.DB
	issueID int64
}

var sendRates = &rates{by: map[rateKey][]progressSample{}}

func (r *rates) observe(k rateKey, now time.Time, done int) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	ss := append(r.by[k], progressSample{now, done})
	i := 0
	for i < len(ss)-1 && now.Sub(ss[i].at) > rateWindow {
		i++
	}
	ss = ss[i:]
	if len(ss) > 64 {
		ss = append(ss[:1], ss[len(ss)-63:]...)
	}
	r.by[k] = ss
	first := ss[0]
	if dt := now.Sub(first.at).Seconds(); dt >= 1 && done >= first.done {
		return float64(done-first.done) / dt
	}
	return 0
}

func (r *rates) forget(k rateKey) {
	r.mu.Lock()
	delete(r.by, k)
	r.mu.Unlock()
}

// Status reads the delivery log of an issue: totals by state, up to
// maxFailures failures (negative: all), bounces, rate and ETA.
func (s *Service) Status(ctx context.Context, a tidings.Actor, issueID int64, maxFailures int) (*SendStatus, error) {
	if _, err := s.issueListID(ctx, a, issueID, PermView); err != nil {
		return nil, err
	}
	st, err := mailer.ReadStatus(ctx, s.d, issueID, maxFailures)
	if err != nil {
		return nil, storeErr(err, "")
	}
	bc, err := inbound.CountIssue(ctx, s.d, issueID)
	if err != nil {
		return nil, err
	}
	out := &SendStatus{Status: st, BounceCounts: bc, Bounces: bc.Hard + bc.Soft + bc.Complaints}
	var held string
	if err := s.d.R.QueryRowContext(ctx, `SELECT held_by FROM sends WHERE issue_id = ?`, issueID).Scan(&held); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("send of issue %d: %w", issueID, err)
	}
	out.Held = held != ""
	if st.State == "done" {
		sendRates.forget(rateKey{s.d, issueID})
	}
	if st.State == "running" || st.State == "paused" || st.State == "preparing" {
		done := st.Total - st.Pending
		out.Rate = sendRates.observe(rateKey{s.d, issueID}, s.now(), done)
		if out.Rate > 0 && st.Pending > 0 && st.State == "running" {
			out.ETA = time.Duration(float64(st.Pending) / out.Rate * float64(time.Second))
		}
	}
	return out, nil
}

// RunSend records that a runs the send of an issue in its own process
// (the command line's `tidings send`, which does not hand the issue to the
// daemon as SendNow does), once a may send on the issue's list. Without
// it a send started by a person on the command line would leave no trace
// in the audit log.
func (s *Service) RunSend(ctx context.Context, a tidings.Actor, issueID int64, retryFailed bool) error {
	listID, err := s.issueListID(ctx, a, issueID, PermEdit)
	if err != nil {
		return err
	}
	var detail any
	if retryFailed {
		detail = map[string]any{"retry_failed": true}
	}
	return s.audit(ctx, a, auditEntry{Action: "send.run", ObjectKind: "issue", ObjectID: strconv.FormatInt(issueID, 10), ListID: listID, Detail: detail})
}

// RetryFailed re-queues the deliveries of an issue's send that failed
// temporarily or because the relay refused everything (a wrong password,
// TLS, the sender) — what `tidings send --retry-failed` does — and hands
// the send to the daemon, which sends them at its next poll. A send never
// started, being prepared, paused or cancelled by a person, or without
// such failures is ErrConflict. It returns how many were re-queued.
func (s *Service) RetryFailed(ctx context.Context, a tidings.Actor, issueID int64) (requeued int64, err error) {
	listID, err := s.issueListID(ctx, a, issueID, PermEdit)
	if err != nil {
		return 0, err
	}
	now := db.Unix(s.now())
	err = s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		st, err := readSendState(ctx, tx, issueID)
		if err != nil {
			return err
		}
		switch {
		case !st.exists:
			return fmt.Errorf("issue %d has no send to retry: %w", issueID, ErrConflict)
		case strings.HasPrefix(st.held, "cancel:"):
			return fmt.Errorf("the send of issue %d was cancelled: %w", issueID, ErrConflict)
		case st.held != "":
			return fmt.Errorf("the send of issue %d is paused: resume it first: %w", issueID, ErrConflict)
		case st.state == "preparing":
			return fmt.Errorf("the send of issue %d is writing its recipient list: %w", issueID, ErrConflict)
		}
		// The same rows the command line's --retry-failed re-queues.
		if requeued, err = mailer.RequeueFailed(ctx, tx, issueID, now); err != nil {
			return err
		}
		if requeued == 0 {
			return fmt.Errorf("the send of issue %d has no temporary or relay failures to retry: %w", issueID, ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sends SET state = 'running', reason = '', finished_at = NULL WHERE issue_id = ?`, issueID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE issues SET status = 'sending' WHERE id = ?`, issueID); err != nil {
			return err
		}
		return s.record(ctx, tx, a, auditEntry{Action: "send.retry", ObjectKind: "issue", ObjectID: strconv.FormatInt(issueID, 10), ListID: listID,
			Detail: map[string]any{"requeued": requeued}})
	})
	if err != nil {
		return 0, err
	}
	return requeued, nil
}
