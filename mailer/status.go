package mailer

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tidings/tidings/db"
)

// Failure is one delivery that did not go out.
type Failure struct {
	Email    string `json:"email"`
	State    string `json:"state"` // failed, bounced, complained
	Kind     string `json:"kind"`  // temporary, permanent, recipient, server
	Attempts int    `json:"attempts"`
	Reply    string `json:"reply"` // the server's SMTP reply, when there was one
	Error    string `json:"error"`
}

// Status is where the send of one issue stands.
type Status struct {
	IssueID    int64
	State      string // preparing, running, paused, done; "" when never started
	Reason     string // why it paused
	StartedAt  time.Time
	FinishedAt time.Time
	// Settings are what the send goes out with (recorded when it started
	// or was last taken over; zero before the first send): relays as
	// redacted URLs, the DKIM key by fingerprint, the rate.
	Settings Settings
	Counts
	Failures []Failure // up to the limit asked for, most recent first
}

// ReadStatus reads the delivery log of an issue: totals by state and up
// to maxFailures failures with their SMTP replies (maxFailures < 0: all).
func ReadStatus(ctx context.Context, d *db.DB, issueID int64, maxFailures int) (Status, error) {
	st := Status{IssueID: issueID}
	var one int
	if err := d.R.QueryRowContext(ctx, `SELECT 1 FROM issues WHERE id = ?`, issueID).Scan(&one); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return st, fmt.Errorf("issue %d: %w", issueID, ErrNotFound)
		}
		return st, fmt.Errorf("issue %d: %w", issueID, err)
	}
	var started int64
	var finished sql.NullInt64
	var settings string
	err := d.R.QueryRowContext(ctx, `SELECT state, reason, started_at, finished_at, settings FROM sends WHERE issue_id = ?`, issueID).
		Scan(&st.State, &st.Reason, &started, &finished, &settings)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("send of issue %d: %w", issueID, err)
	}
	if settings != "" {
		if err := json.Unmarshal([]byte(settings), &st.Settings); err != nil {
			return st, fmt.Errorf("send settings of issue %d: %w", issueID, err)
		}
	}
	st.StartedAt, st.FinishedAt = db.Time(started), db.Time(finished.Int64)
	if st.Counts, err = countStates(ctx, d.R, issueID); err != nil {
		return st, err
	}
	if maxFailures == 0 {
		return st, nil
	}
	rows, err := d.R.QueryContext(ctx, `SELECT p.email, d.state, d.fail_kind, d.attempts, d.smtp_reply, d.last_error
		FROM deliveries d JOIN subscribers p ON p.id = d.subscriber_id
		WHERE d.issue_id = ? AND d.state IN ('failed', 'bounced', 'complained')
		ORDER BY d.updated_at DESC, d.subscriber_id LIMIT ?`, issueID, maxFailures)
	if err != nil {
		return st, fmt.Errorf("delivery log: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var f Failure
		if err := rows.Scan(&f.Email, &f.State, &f.Kind, &f.Attempts, &f.Reply, &f.Error); err != nil {
			return st, fmt.Errorf("delivery log: %w", err)
		}
		st.Failures = append(st.Failures, f)
	}
	return st, rows.Err()
}
