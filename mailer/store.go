package mailer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/bounce"
	"github.com/tidings/tidings/db"
)

// errLeaseLost: another sender took the row over (our lease ran out), so
// this process must not send it.
var errLeaseLost = errors.New("lease lost to another sender")

// job is one claimed delivery.
type job struct {
	rc       tidings.Recipient
	attempts int
	state    tidings.DeliveryState // pending, or sending when a crash left it so
}

// logStore is the delivery log of one issue, as seen by one owner.
type logStore struct {
	d       *db.DB
	issueID int64
	listID  int64
	owner   string
	ttl     time.Duration
	now     func() time.Time
	fp      string // this process's settings fingerprint (settings.go)

	// Statements prepared once on the single write connection and reused
	// in every group commit: preparing each time was a third of the log's cost.
	stmts map[string]*sql.Stmt
}

// exec runs query in tx through its statement prepared by prepare
// (on the single write connection, before any transaction holds it), or
// plainly when there is none.
func (s *logStore) exec(tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st, ok := s.stmts[query]; ok {
		return tx.Stmt(st).Exec(args...)
	}
	return tx.Exec(query, args...)
}

const qSending = `UPDATE deliveries SET state = 'sending', relay = ?, message_id = ?, updated_at = ?
		WHERE issue_id = ? AND subscriber_id = ? AND lease_owner = ? AND state IN ('pending', 'sending')`

const qSent = `UPDATE deliveries SET state = 'sent', attempts = attempts + 1, smtp_reply = ?, sent_at = ?,
		updated_at = ?, lease_owner = '', lease_until = 0, fail_kind = '', last_error = ''
		WHERE issue_id = ? AND subscriber_id = ?`

const qRetry = `UPDATE deliveries SET state = 'pending', attempts = attempts + ?, next_attempt_at = ?,
		fail_kind = 'temporary', last_error = ?, smtp_reply = ?, updated_at = ?, lease_owner = '', lease_until = 0
		WHERE issue_id = ? AND subscriber_id = ?`

const qFail = `UPDATE deliveries SET state = ?, attempts = attempts + 1, fail_kind = ?, last_error = ?,
		smtp_reply = ?, updated_at = ?, lease_owner = '', lease_until = 0
		WHERE issue_id = ? AND subscriber_id = ?`

const qSkip = `UPDATE deliveries SET state = 'skipped', last_error = ?, updated_at = ?, lease_owner = '', lease_until = 0
		WHERE issue_id = ? AND subscriber_id = ?`

const qRelease = `UPDATE deliveries SET lease_owner = '', lease_until = 0
			WHERE issue_id = ? AND subscriber_id = ? AND lease_owner = ?`

const qRenew = `UPDATE deliveries SET lease_until = ?
			WHERE issue_id = ? AND subscriber_id = ? AND lease_owner = ?`

// prepare readies the statements of the hot path. It must run before the
// writer starts: preparing needs the write connection.
func (s *logStore) prepare(ctx context.Context) error {
	s.stmts = map[string]*sql.Stmt{}
	for _, q := range []string{qSending, qSent, qRetry, qFail, qSkip, qRelease, qRenew} {
		st, err := s.d.W.PrepareContext(ctx, q)
		if err != nil {
			s.close()
			return fmt.Errorf("delivery log: %w", err)
		}
		s.stmts[q] = st
	}
	return nil
}

// close releases the prepared statements.
func (s *logStore) close() {
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts = nil
}

func (s *logStore) unix() int64 { return s.now().Unix() }

// claim leases up to n deliveries that are due: pending ones, and
// "sending" ones whose owner died (their lease ran out). In the same
// transaction it re-checks each recipient's subscription, so people who
// unsubscribed (or bounced) since the send started are skipped, and loads
// the address and topics as they are now.
func (s *logStore) claim(ctx context.Context, n int) ([]job, error) {
	now := s.unix()
	until := now + int64(s.ttl/time.Second) + 1
	var out []job
	err := s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		// In the claim's own transaction: no row is claimed under settings
		// another process has replaced since this send started.
		var fp string
		if err := tx.QueryRowContext(ctx, `SELECT settings_fp FROM sends WHERE issue_id = ?`, s.issueID).Scan(&fp); err != nil {
			return err
		}
		if fp != s.fp {
			return errSettingsChanged
		}
		rows, err := tx.QueryContext(ctx, `UPDATE deliveries SET lease_owner = ?, lease_until = ?
			WHERE issue_id = ? AND subscriber_id IN (
				SELECT subscriber_id FROM deliveries INDEXED BY deliveries_by_state
				WHERE issue_id = ? AND state IN ('pending', 'sending') AND next_attempt_at <= ? AND lease_until < ?
				LIMIT ?)
			RETURNING subscriber_id, attempts, state`, s.owner, until, s.issueID, s.issueID, now, now, n)
		if err != nil {
			return err
		}
		byID := map[int64]int{}
		for rows.Next() {
			var j job
			var st string
			if err := rows.Scan(&j.rc.SubscriberID, &j.attempts, &st); err != nil {
				rows.Close()
				return err
			}
			j.state = tidings.DeliveryState(st)
			byID[j.rc.SubscriberID] = len(out)
			out = append(out, j)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		ids := make([]string, 0, len(out))
		for _, j := range out {
			ids = append(ids, strconv.FormatInt(j.rc.SubscriberID, 10))
		}
		rows, err = tx.QueryContext(ctx, `SELECT p.id, p.email, p.name, sub.all_topics, sub.status,
			coalesce((SELECT group_concat(t.slug, ',' ORDER BY t.slug) FROM subscription_topics st
				JOIN topics t ON t.id = st.topic_id
				WHERE st.list_id = sub.list_id AND st.subscriber_id = sub.subscriber_id), '')
			FROM subscribers p JOIN subscriptions sub ON sub.subscriber_id = p.id AND sub.list_id = ?
			WHERE p.id IN (`+strings.Join(ids, ",")+`)`, s.listID)
		if err != nil {
			return err
		}
		confirmed := map[int64]bool{}
		for rows.Next() {
			var id int64
			var rc tidings.Recipient
			var status, topics string
			if err := rows.Scan(&id, &rc.Email, &rc.Name, &rc.AllTopics, &status, &topics); err != nil {
				rows.Close()
				return err
			}
			if status != string(tidings.StatusConfirmed) {
				continue
			}
			rc.SubscriberID = id
			if !rc.AllTopics {
				rc.Topics = []string{}
				if topics != "" {
					rc.Topics = strings.Split(topics, ",")
				}
			}
			out[byID[id]].rc = rc
			confirmed[id] = true
		}
		if err := rows.Close(); err != nil {
			return err
		}
		kept := out[:0]
		for _, j := range out {
			if confirmed[j.rc.SubscriberID] {
				kept = append(kept, j)
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'skipped', lease_owner = '', lease_until = 0,
				last_error = 'no longer subscribed when its turn came', updated_at = ?
				WHERE issue_id = ? AND subscriber_id = ?`, now, s.issueID, j.rc.SubscriberID); err != nil {
				return err
			}
		}
		out = kept
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return out, nil
}

// sending records that DATA is about to start. It fails with
// errLeaseLost when the row is no longer ours.
func (s *logStore) sending(tx *sql.Tx, id int64, relay, messageID string) error {
	res, err := s.exec(tx, qSending,
		relay, messageID, s.unix(), s.issueID, id, s.owner)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return errLeaseLost
	}
	return nil
}

func (s *logStore) sent(tx *sql.Tx, id int64, reply string) error {
	now := s.unix()
	_, err := s.exec(tx, qSent, clip(reply), now, now, s.issueID, id)
	return err
}

// retry puts a delivery back in the queue for next; counted says whether
// this try counts toward the attempt limit (throttling does not).
func (s *logStore) retry(tx *sql.Tx, id int64, next time.Time, counted bool, errText, reply string) error {
	inc := 0
	if counted {
		inc = 1
	}
	_, err := s.exec(tx, qRetry, inc, next.Unix(), clip(errText), clip(reply), s.unix(), s.issueID, id)
	return err
}

// fail records a final failure; state is failed or bounced.
func (s *logStore) fail(tx *sql.Tx, id int64, state tidings.DeliveryState, kind FailKind, errText, reply string) error {
	_, err := s.exec(tx, qFail, string(state), string(kind), clip(errText), clip(reply), s.unix(), s.issueID, id)
	return err
}

func (s *logStore) skip(tx *sql.Tx, id int64, why string) error {
	_, err := s.exec(tx, qSkip, why, s.unix(), s.issueID, id)
	return err
}

// release gives claimed rows back untouched (Ctrl-C, pause, a relay that
// turned out broken), so the next run takes them at once.
func (s *logStore) release(tx *sql.Tx, ids []int64) error {
	for _, id := range ids {
		if _, err := s.exec(tx, qRelease, s.issueID, id, s.owner); err != nil {
			return err
		}
	}
	return nil
}

// renew extends the leases this process holds.
func (s *logStore) renew(tx *sql.Tx, ids []int64) error {
	until := s.unix() + int64(s.ttl/time.Second) + 1
	for _, id := range ids {
		if _, err := s.exec(tx, qRenew, until, s.issueID, id, s.owner); err != nil {
			return err
		}
	}
	return nil
}

// bounce records a refusal of this reader's copy through the one rule of
// package bounce, in the outcome's own transaction.
func (s *logStore) bounce(tx *sql.Tx, id int64, kind, code, diag string, rules bounce.Rules) error {
	_, err := bounce.Record(context.Background(), tx, bounce.Event{SubscriberID: id, ListID: s.listID, IssueID: s.issueID,
		Kind: kind, Code: code, Diagnostic: diag, Source: "smtp", At: time.Unix(s.unix(), 0)}, rules)
	return err
}

// bounceOnce is bounce unless this send has already counted a refusal of
// the reader's copy: a delivery re-queued by --retry-failed and given up on
// again is the same refusal of the same issue, not another.
func (s *logStore) bounceOnce(tx *sql.Tx, id int64, kind, code, diag string, rules bounce.Rules) error {
	var n int
	if err := tx.QueryRow(`SELECT count(*) FROM bounces WHERE subscriber_id = ? AND list_id = ? AND issue_id = ? AND source = 'smtp'`,
		id, s.listID, s.issueID).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	return s.bounce(tx, id, kind, code, diag, rules)
}

// remaining counts deliveries not yet final, and the earliest time one
// of them is due.
func (s *logStore) remaining(ctx context.Context) (n int, due time.Time, err error) {
	var next sql.NullInt64
	err = s.d.R.QueryRowContext(ctx, `SELECT count(*), min(max(next_attempt_at, lease_until)) FROM deliveries INDEXED BY deliveries_by_state
		WHERE issue_id = ? AND state IN ('pending', 'sending')`, s.issueID).Scan(&n, &next)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("delivery log: %w", err)
	}
	return n, time.Unix(next.Int64, 0), nil
}

// reapDead frees the leases of senders on this machine whose process is
// gone (killed, crashed), so a resumed send need not wait out their
// leases. Owners on other machines are left to expire.
func (s *logStore) reapDead(ctx context.Context) error {
	rows, err := s.d.R.QueryContext(ctx, `SELECT DISTINCT lease_owner FROM deliveries INDEXED BY deliveries_by_state
		WHERE issue_id = ? AND state IN ('pending', 'sending') AND lease_until >= ? AND lease_owner != ''`, s.issueID, s.unix())
	if err != nil {
		return fmt.Errorf("delivery log: %w", err)
	}
	var dead []string
	for rows.Next() {
		var o string
		if err := rows.Scan(&o); err != nil {
			rows.Close()
			return fmt.Errorf("delivery log: %w", err)
		}
		if o != s.owner && ownerDead(o) {
			dead = append(dead, o)
		}
	}
	rows.Close()
	if len(dead) == 0 {
		return nil
	}
	return s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		for _, o := range dead {
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET lease_until = 0
				WHERE issue_id = ? AND lease_owner = ? AND state IN ('pending', 'sending')`, s.issueID, o); err != nil {
				return err
			}
		}
		return nil
	})
}

// Counts are deliveries of one issue by state.
type Counts struct {
	Total      int `json:"total"`
	Sent       int `json:"sent"`
	Failed     int `json:"failed"`
	Skipped    int `json:"skipped"`
	Pending    int `json:"pending"` // pending and sending
	Bounced    int `json:"bounced"`
	Complained int `json:"complained"`
}

// Done is how many deliveries reached a final state.
func (c Counts) Done() int { return c.Total - c.Pending }

func countStates(ctx context.Context, q *sql.DB, issueID int64) (Counts, error) {
	rows, err := q.QueryContext(ctx, `SELECT state, count(*) FROM deliveries WHERE issue_id = ? GROUP BY state`, issueID)
	if err != nil {
		return Counts{}, fmt.Errorf("delivery log: %w", err)
	}
	defer rows.Close()
	var c Counts
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return Counts{}, fmt.Errorf("delivery log: %w", err)
		}
		c.Total += n
		switch tidings.DeliveryState(st) {
		case tidings.DeliverySent:
			c.Sent += n
		case tidings.DeliveryFailed:
			c.Failed += n
		case tidings.DeliverySkipped:
			c.Skipped += n
		case tidings.DeliveryPending, tidings.DeliverySending:
			c.Pending += n
		case tidings.DeliveryBounced:
			c.Bounced += n
		case tidings.DeliveryComplained:
			c.Complained += n
		}
	}
	return c, rows.Err()
}

// clip bounds stored replies and errors; servers can answer at length.
func clip(s string) string {
	if len(s) > 500 {
		return s[:500]
	}
	return s
}

// newOwner names this sender in lease_owner: host, pid and a random part
// (two engines in one process are different owners).
func newOwner() string {
	h, _ := os.Hostname()
	var b [4]byte
	if _, err := randRead(b[:]); err != nil {
		return fmt.Sprintf("%s/%d/%d", h, os.Getpid(), time.Now().UnixNano())
	}
	return fmt.Sprintf("%s/%d/%x", h, os.Getpid(), b)
}

// ownerDead reports whether owner is a process on this machine that no
// longer runs. Unknown shapes and other machines are never dead here.
func ownerDead(owner string) bool {
	parts := strings.Split(owner, "/")
	if len(parts) != 3 {
		return false
	}
	h, _ := os.Hostname()
	if parts[0] != h {
		return false
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 {
		return false
	}
	if pid == os.Getpid() {
		return false
	}
	return !processAlive(pid)
}
