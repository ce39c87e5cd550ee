package report

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/tidings/tidings/db"
)

// MaxTrend is the most issues a trend reaches back.
const MaxTrend = 100

// Trend is the reports of a list's last issues that were sent (or are
// being sent), newest send first, at most last of them, read in one
// snapshot.
func Trend(ctx context.Context, d *db.DB, listID int64, last int) ([]Report, error) {
	if last < 1 || last > MaxTrend {
		return nil, fmt.Errorf("trend over %d issues: want 1 to %d: %w", last, MaxTrend, ErrInvalid)
	}
	tx, err := d.R.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("trend of list %d: %w", listID, err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT i.id FROM sends s JOIN issues i ON i.id = s.issue_id
		WHERE i.list_id = ? ORDER BY s.started_at DESC, i.id DESC LIMIT ?`, listID, last)
	if err != nil {
		return nil, fmt.Errorf("trend of list %d: %w", listID, err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("trend of list %d: %w", listID, err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("trend of list %d: %w", listID, err)
	}
	out := make([]Report, 0, len(ids))
	for _, id := range ids {
		r, err := compute(ctx, tx, id)
		if err != nil {
			return nil, fmt.Errorf("trend of list %d: issue %d: %w", listID, id, err)
		}
		out = append(out, *r)
	}
	return out, nil
}
