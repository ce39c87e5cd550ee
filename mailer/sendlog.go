// sendlog.go holds the start of a send: the sends row and the delivery
// log written once, when the recipient set is fixed.

package mailer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tidings/tidings"
)

// prepare creates or resumes the send's row and its delivery log. The
// settings ours are recorded when the send starts; a resumed send with
// other recorded settings is refused (SettingsError) unless o says to
// adopt ours and no other process sends it now.
func (e *Engine) prepare(ctx context.Context, camp *Campaign, ours Settings, o SendOptions) error {
	retryFailed := o.RetryFailed
	d := e.deps.DB
	now := e.cfg.Now().Unix()
	var state string
	var issueStatus string
	if err := d.R.QueryRowContext(ctx, `SELECT status FROM issues WHERE id = ?`, camp.IssueID).Scan(&issueStatus); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("issue %d: %w", camp.IssueID, ErrNotFound)
		}
		return fmt.Errorf("issue %d: %w", camp.IssueID, err)
	}
	err := d.R.QueryRowContext(ctx, `SELECT state FROM sends WHERE issue_id = ?`, camp.IssueID).Scan(&state)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if issueStatus == string(tidings.IssueSent) {
			return fmt.Errorf("issue %d: %w (it has no delivery log to resume)", camp.IssueID, ErrAlreadySent)
		}
		// Issue status is set here, in the same transaction as the send's
		// row, rather than through the issues store: both must agree.
		err = d.WriteTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO sends (issue_id, state, started_at) VALUES (?, 'preparing', ?)`,
				camp.IssueID, now); err != nil {
				return err
			}
			if err := e.adoptSettings(ctx, tx, camp, ours, o.AdoptSettings); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `UPDATE issues SET status = 'sending' WHERE id = ? AND status != 'sent'`, camp.IssueID)
			return err
		})
		var se *SettingsError
		if errors.As(err, &se) {
			return err
		}
		if err != nil {
			return fmt.Errorf("start send of issue %d: %w", camp.IssueID, err)
		}
		state = "preparing"
	case err != nil:
		return fmt.Errorf("send of issue %d: %w", camp.IssueID, err)
	default:
		// Before anything else is touched: a process with other settings
		// leaves the send alone.
		if err := d.WriteTx(ctx, func(tx *sql.Tx) error {
			return e.adoptSettings(ctx, tx, camp, ours, o.AdoptSettings)
		}); err != nil {
			return err
		}
	}
	if state == "preparing" {
		// Also the path after a crash during preparation: INSERT OR
		// IGNORE makes a second pass harmless.
		if err := e.fillLog(ctx, camp); err != nil {
			return err
		}
	}
	return d.WriteTx(ctx, func(tx *sql.Tx) error {
		if retryFailed {
			if _, err := RequeueFailed(ctx, tx, camp.IssueID, now); err != nil {
				return err
			}
		}
		var pending int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM deliveries WHERE issue_id = ? AND state IN ('pending', 'sending')`,
			camp.IssueID).Scan(&pending); err != nil {
			return err
		}
		if pending == 0 && state == "done" {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sends SET state = 'running', reason = '', finished_at = NULL WHERE issue_id = ?`,
			camp.IssueID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE issues SET status = 'sending' WHERE id = ?`, camp.IssueID)
		return err
	})
}

// RequeueFailed puts back in the queue, inside tx, the deliveries of an
// issue that failed temporarily or because the relay refused everything
// (--retry-failed; ops.RetryFailed for the API and the console), and
// says how many.
func RequeueFailed(ctx context.Context, tx *sql.Tx, issueID, now int64) (int64, error) {
	res, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = 0,
		lease_owner = '', lease_until = 0, updated_at = ?
		WHERE issue_id = ? AND state = 'failed' AND fail_kind IN ('temporary', 'server')`, now, issueID)
	if err != nil {
		return 0, fmt.Errorf("retry failed deliveries of issue %d: %w", issueID, err)
	}
	return res.RowsAffected()
}

// adoptSettings records ours as the send's settings or refuses (see
// checkSettings), and says so in the log when they replace others.
func (e *Engine) adoptSettings(ctx context.Context, tx *sql.Tx, camp *Campaign, ours Settings, adopt bool) error {
	adopted, old, err := checkSettings(ctx, tx, camp.IssueID, ours, e.cfg.Owner, e.cfg.Now().Unix(), adopt)
	if err != nil {
		return err
	}
	if adopted {
		e.cfg.Logger.Warn("the send's remaining messages go out with this process's settings", "issue", camp.IssueID,
			"changed", old.Diff(ours))
	}
	return nil
}

// fillLog writes one delivery row per confirmed recipient, streamed and
// committed PrepareBatch rows at a time.
func (e *Engine) fillLog(ctx context.Context, camp *Campaign) error {
	now := e.cfg.Now().Unix()
	type row struct {
		id    int64
		state string
		key   string
	}
	batch := make([]row, 0, e.cfg.PrepareBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := e.deps.DB.WriteTx(ctx, func(tx *sql.Tx) error {
			st, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO deliveries (issue_id, subscriber_id, state, topic_key, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?)`)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, r := range batch {
				if _, err := st.ExecContext(ctx, camp.IssueID, r.id, r.state, r.key, now, now); err != nil {
					return err
				}
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	err := e.deps.Recipients.Recipients(ctx, camp.ListID, func(rc tidings.Recipient) error {
		key, n := camp.Composer.Combination(rc)
		st := "pending"
		if n == 0 {
			st = "skipped"
		}
		batch = append(batch, row{rc.SubscriberID, st, key})
		if len(batch) >= e.cfg.PrepareBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("write delivery log of issue %d: %w", camp.IssueID, err)
	}
	return nil
}
