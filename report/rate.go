package report

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tidings/tidings/db"
)

// ClickRate is Report.ClickRate of an issue without computing the whole
// report: for pages that list many sends (the console's home).
func ClickRate(ctx context.Context, d *db.DB, issueID int64) (float64, error) {
	r := &Report{Issue: issueID}
	err := d.R.QueryRowContext(ctx, `SELECT l.clicks,
			(SELECT count(*) FROM deliveries WHERE issue_id = i.id AND state IN ('sent', 'complained')),
			(SELECT coalesce(sum(n), 0) FROM track_counts WHERE issue_id = i.id AND kind = 'click' AND verdict = 'human')
		FROM issues i JOIN lists l ON l.id = i.list_id WHERE i.id = ?`, issueID).Scan(&r.ClicksTracking, &r.Delivered, &r.Clicks.Human)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("click rate of issue %d: %w", issueID, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("click rate of issue %d: %w", issueID, err)
	}
	if err := uniqueClickers(ctx, d.R, r); err != nil {
		return 0, fmt.Errorf("click rate of issue %d: %w", issueID, err)
	}
	return r.ClickRate(), nil
}

// Unsubscribed is the report's "unsubscribed after this issue" alone, for
// the console's home page: the same figure the report shows, without the
// rest of it.
func Unsubscribed(ctx context.Context, d *db.DB, issueID int64) (int, error) {
	r := &Report{Issue: issueID}
	var started sql.NullInt64
	err := d.R.QueryRowContext(ctx, `SELECT i.list_id, s.started_at FROM issues i LEFT JOIN sends s ON s.issue_id = i.id
		WHERE i.id = ?`, issueID).Scan(&r.ListID, &started)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("unsubscribed after issue %d: %w", issueID, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("unsubscribed after issue %d: %w", issueID, err)
	}
	if err := unsubscribed(ctx, d.R, r, started); err != nil {
		return 0, fmt.Errorf("unsubscribed after issue %d: %w", issueID, err)
	}
	return r.Unsubscribed, nil
}
