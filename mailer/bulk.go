package mailer

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/tidings/tidings/db"
)

// InsertSubscribers adds n confirmed subscribers to a list straight in
// SQL, 10 000 rows per transaction, for benchmarks at a million readers
// (the subscribers store validates each address and is far slower).
// Topic choices cycle through: every topic, the first topic, the second
// and third, the fourth — as the list's topics exist. Addresses are
// benchNNNNNNN@example.com.
func InsertSubscribers(ctx context.Context, d *db.DB, listID int64, n int) error {
	var topics []int64
	rows, err := d.R.QueryContext(ctx, `SELECT id FROM topics WHERE list_id = ? ORDER BY id`, listID)
	if err != nil {
		return fmt.Errorf("insert subscribers: %w", err)
	}
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		topics = append(topics, id)
	}
	rows.Close()
	pick := func(i int) []int64 {
		switch {
		case len(topics) == 0 || i%4 == 0:
			return nil // all topics
		case i%4 == 1:
			return topics[:1]
		case i%4 == 2 && len(topics) >= 3:
			return topics[1:3]
		default:
			return topics[len(topics)-1:]
		}
	}
	var first int
	if err := d.R.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM subscribers`).Scan(&first); err != nil {
		return fmt.Errorf("insert subscribers: %w", err)
	}
	const batch = 10000
	for lo := 0; lo < n; lo += batch {
		err := d.WriteTx(ctx, func(tx *sql.Tx) error {
			ps, err := tx.PrepareContext(ctx, `INSERT INTO subscribers (email, email_key, name, created_at) VALUES (?, ?, '', 1)`)
			if err != nil {
				return err
			}
			defer ps.Close()
			ss, err := tx.PrepareContext(ctx, `INSERT INTO subscriptions (list_id, subscriber_id, status, all_topics, created_at, updated_at) VALUES (?, ?, 'confirmed', ?, 1, 1)`)
			if err != nil {
				return err
			}
			defer ss.Close()
			ts, err := tx.PrepareContext(ctx, `INSERT INTO subscription_topics (list_id, subscriber_id, topic_id) VALUES (?, ?, ?)`)
			if err != nil {
				return err
			}
			defer ts.Close()
			for i := lo; i < min(n, lo+batch); i++ {
				email := fmt.Sprintf("bench%07d@example.com", first+i)
				res, err := ps.ExecContext(ctx, email, email)
				if err != nil {
					return err
				}
				id, _ := res.LastInsertId()
				tp := pick(i)
				all := 0
				if tp == nil {
					all = 1
				}
				if _, err := ss.ExecContext(ctx, listID, id, all); err != nil {
					return err
				}
				for _, t := range tp {
					if _, err := ts.ExecContext(ctx, listID, id, t); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("insert subscribers: %w", err)
		}
	}
	return nil
}
