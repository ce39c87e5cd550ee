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
