// import_write.go writes imported rows in batches, one transaction each,
// with prepared statements and the rules that keep re-imports idempotent.

package subscribers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
)

// importWriter writes batches of rows, each in one transaction.
type importWriter struct {
	s      *Store
	listID int64
	dry    bool
	stats  *ImportStats
}

var errDryRun = errors.New("dry run")

func (w *importWriter) flush(ctx context.Context, batch []importRow, defAll bool, defIDs []int64) error {
	if len(batch) == 0 {
		return nil
	}
	var added, updated, unchanged int
	err := w.s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		ps := &stmts{}
		defer ps.close()
		stmt := func(q string) (*sql.Stmt, error) { return ps.get(ctx, tx, q) }
		now := db.Unix(w.s.now())
		for _, row := range batch {
			res, err := w.upsert(ctx, stmt, row, now, defAll, defIDs)
			if err != nil {
				return fmt.Errorf("line %d: %w", row.line, err)
			}
			switch res {
			case rowAdded:
				added++
			case rowUpdated:
				updated++
			default:
				unchanged++
			}
		}
		if w.dry {
			return errDryRun
		}
		return nil
	})
	if err != nil && !errors.Is(err, errDryRun) {
		return fmt.Errorf("import: %w", err)
	}
	w.stats.Added += added
	w.stats.Updated += updated
	w.stats.Unchanged += unchanged
	return nil
}

// stmts prepares each statement once per transaction.
type stmts struct{ m map[string]*sql.Stmt }

func (p *stmts) get(ctx context.Context, tx *sql.Tx, q string) (*sql.Stmt, error) {
	if st, ok := p.m[q]; ok {
		return st, nil
	}
	st, err := tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if p.m == nil {
		p.m = map[string]*sql.Stmt{}
	}
	p.m[q] = st
	return st, nil
}

func (p *stmts) close() {
	for _, st := range p.m {
		st.Close()
	}
}

// exec and queryRow run a prepared statement, passing on a prepare error.
func exec(ctx context.Context, stmt func(string) (*sql.Stmt, error), q string, args ...any) (sql.Result, error) {
	st, err := stmt(q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func queryRow(ctx context.Context, stmt func(string) (*sql.Stmt, error), q string, args []any, dest ...any) error {
	st, err := stmt(q)
	if err != nil {
		return err
	}
	return st.QueryRowContext(ctx, args...).Scan(dest...)
}

type rowResult int

const (
	rowUnchanged rowResult = iota
	rowAdded
	rowUpdated
)

func (w *importWriter) upsert(ctx context.Context, stmt func(string) (*sql.Stmt, error), row importRow, now int64, defAll bool, defIDs []int64) (rowResult, error) {
	var id int64
	var curName string
	newPerson := false
	// Insert first and look up only on a conflict: a first import is mostly
	// new people, and this spares each of them a query (a third of the
	// import's time); a re-import pays one index probe more a row.
	res, err := exec(ctx, stmt, "INSERT INTO subscribers (email, email_key, name, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (email_key) DO NOTHING",
		row.email.Addr, row.email.Key, row.name, now)
	if err != nil {
		return 0, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, err
	} else if n == 1 {
		if id, err = res.LastInsertId(); err != nil {
			return 0, err
		}
		newPerson = true
	} else if err := queryRow(ctx, stmt, "SELECT id, name FROM subscribers WHERE email_key = ?", []any{row.email.Key}, &id, &curName); err != nil {
		return 0, err
	}
	result := rowUnchanged
	if !newPerson && row.name != "" && row.name != curName {
		if _, err := exec(ctx, stmt, "UPDATE subscribers SET name = ? WHERE id = ?", row.name, id); err != nil {
			return 0, err
		}
		result = rowUpdated
	}

	var curStatus string
	var curAll bool
	exists := false
	if !newPerson {
		err := queryRow(ctx, stmt, "SELECT status, all_topics FROM subscriptions WHERE list_id = ? AND subscriber_id = ?",
			[]any{w.listID, id}, &curStatus, &curAll)
		switch {
		case err == nil:
			exists = true
		case !errors.Is(err, sql.ErrNoRows):
			return 0, err
		}
	}
	if !exists {
		status, all, ids := row.status, defAll, defIDs
		if status == "" {
			status = tidings.StatusConfirmed
		}
		if row.topics != nil {
			all, ids = row.topics.All, row.ids
		}
		if _, err := exec(ctx, stmt, `INSERT INTO subscriptions (list_id, subscriber_id, status, all_topics, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`, w.listID, id, string(status), all, now, now); err != nil {
			return 0, err
		}
		for _, tid := range ids {
			if _, err := exec(ctx, stmt, "INSERT INTO subscription_topics (list_id, subscriber_id, topic_id) VALUES (?, ?, ?)", w.listID, id, tid); err != nil {
				return 0, err
			}
		}
		return rowAdded, nil
	}

	// Existing subscription: change only what the row states and differs.
	status, all := curStatus, curAll
	if row.status != "" {
		status = string(row.status)
	}
	topicsChanged := false
	if row.topics != nil {
		all = row.topics.All
		cur, err := w.currentTopicIDs(ctx, stmt, id)
		if err != nil {
			return 0, err
		}
		topicsChanged = !sameIDs(cur, row.ids)
	}
	if status == curStatus && all == curAll && !topicsChanged {
		return result, nil
	}
	if _, err := exec(ctx, stmt, "UPDATE subscriptions SET status = ?, all_topics = ?, updated_at = ? WHERE list_id = ? AND subscriber_id = ?",
		status, all, now, w.listID, id); err != nil {
		return 0, err
	}
	if topicsChanged {
		if _, err := exec(ctx, stmt, "DELETE FROM subscription_topics WHERE list_id = ? AND subscriber_id = ?", w.listID, id); err != nil {
			return 0, err
		}
		for _, tid := range row.ids {
			if _, err := exec(ctx, stmt, "INSERT INTO subscription_topics (list_id, subscriber_id, topic_id) VALUES (?, ?, ?)", w.listID, id, tid); err != nil {
				return 0, err
			}
		}
	}
	return rowUpdated, nil
}

func (w *importWriter) currentTopicIDs(ctx context.Context, stmt func(string) (*sql.Stmt, error), subID int64) (map[int64]bool, error) {
	st, err := stmt("SELECT topic_id FROM subscription_topics WHERE list_id = ? AND subscriber_id = ?")
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, w.listID, subID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cur := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		cur[id] = true
	}
	return cur, rows.Err()
}

func sameIDs(cur map[int64]bool, ids []int64) bool {
	if len(cur) != len(ids) {
		return false
	}
	for _, id := range ids {
		if !cur[id] {
			return false
		}
	}
	return true
}
