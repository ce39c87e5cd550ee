package inbound

import (
	"context"
	"fmt"

	"github.com/tidings/tidings/db"
)

// IssueCounts are the readers of one issue whose mail bounced or who
// complained, from replies at send time (the mailer) and inbound mail
// alike. Each reader counts once per kind, so Complaints over the
// delivered messages is the complaint rate mailbox providers judge.
type IssueCounts struct {
	Hard       int `json:"hard_bounces"`
	Soft       int `json:"soft_bounces"`
	Complaints int `json:"complaints"`
}

// CountIssue counts the bounces and complaints recorded for issueID
// (`tidings status ID`).
func CountIssue(ctx context.Context, d *db.DB, issueID int64) (IssueCounts, error) {
	var c IssueCounts
	rows, err := d.R.QueryContext(ctx, `SELECT kind, count(DISTINCT subscriber_id) FROM bounces WHERE issue_id = ? GROUP BY kind`, issueID)
	if err != nil {
		return c, fmt.Errorf("count bounces of issue %d: %w", issueID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind string
		var n int
		if err := rows.Scan(&kind, &n); err != nil {
			return c, fmt.Errorf("count bounces of issue %d: %w", issueID, err)
		}
		switch kind {
		case KindHard:
			c.Hard = n
		case KindSoft:
			c.Soft = n
		case KindComplaint:
			c.Complaints = n
		}
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("count bounces of issue %d: %w", issueID, err)
	}
	return c, nil
}
