// audit_log.go reads the audit log (the writes are record and audit in ops.go).

package ops

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
)

// AuditEntry is one recorded change.
type AuditEntry struct {
	ID         int64
	At         time.Time
	ActorKind  string
	Actor      string
	Action     string
	ObjectKind string
	ObjectID   string
	ListSlug   string
	Detail     string // JSON
	IP         string
}

// Audit page sizes.
const (
	DefaultAuditLimit = 50
	MaxAuditLimit     = 1000
)

// Audit lists recorded changes, newest first, by keyset (admin). The
// cursor is the id of the last entry of the previous page ("" = the
// newest); the returned cursor is "" on the last page. An admin limited
// to some lists sees the log of one of its lists (listSlug required);
// the whole log is for admins of every list.
func (s *Service) Audit(ctx context.Context, a tidings.Actor, listSlug, cursor string, limit int) ([]AuditEntry, string, error) {
	var listID int64
	if listSlug = strings.TrimSpace(listSlug); listSlug != "" {
		err := s.d.R.QueryRowContext(ctx, `SELECT id FROM lists WHERE slug = ?`, listSlug).Scan(&listID)
		if errors.Is(err, sql.ErrNoRows) {
			// Same answer whether the caller may see the list or not.
			if err := authorize(a, PermAdmin, 0); err != nil {
				return nil, "", err
			}
			return nil, "", Invalid("list", "no list %q", listSlug)
		}
		if err != nil {
			return nil, "", fmt.Errorf("audit: list %s: %w", listSlug, err)
		}
	}
	if err := authorize(a, PermAdmin, listID); err != nil {
		return nil, "", err
	}
	if limit == 0 {
		limit = DefaultAuditLimit
	}
	if limit < 0 || limit > MaxAuditLimit {
		return nil, "", Invalid("limit", "%d: want 1 to %d", limit, MaxAuditLimit)
	}
	before := int64(1<<63 - 1)
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || n <= 0 {
			return nil, "", Invalid("cursor", "%q: not a cursor this API gave", cursor)
		}
		before = n
	}
	q := `SELECT a.id, a.at, a.actor_kind, a.actor, a.action, a.object_kind, a.object_id, COALESCE(l.slug, ''), a.detail, a.ip
		FROM audit_log a LEFT JOIN lists l ON l.id = a.list_id WHERE a.id < ?`
	args := []any{before}
	if listID != 0 {
		q += ` AND a.list_id = ?`
		args = append(args, listID)
	}
	q += ` ORDER BY a.id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.d.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("audit: %w", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.ActorKind, &e.Actor, &e.Action, &e.ObjectKind, &e.ObjectID, &e.ListSlug, &e.Detail, &e.IP); err != nil {
			return nil, "", fmt.Errorf("audit: %w", err)
		}
		e.At = db.Time(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("audit: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = strconv.FormatInt(out[limit-1].ID, 10)
	}
	return out, next, nil
}
