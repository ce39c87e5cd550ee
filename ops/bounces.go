package ops

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
)

// Bounce is one bounce or complaint.
type Bounce struct {
	ID         int64
	Email      string
	ListSlug   string
	IssueID    int64  // 0: not tied to an issue (e.g. found in a plain mailbox)
	Kind       string // hard, soft, complaint
	Code       string
	Diagnostic string
	Source     string
	At         time.Time
}

// bounceCursor is (at, id) of the last bounce shown: the next page
// starts strictly after it in (at DESC, id DESC) order.
func bounceCursor(b Bounce) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(db.Unix(b.At), 10) + "." + strconv.FormatInt(b.ID, 10)))
}

func parseBounceCursor(s string) (at, id int64, err error) {
	raw, derr := base64.RawURLEncoding.DecodeString(s)
	a, b, ok := strings.Cut(string(raw), ".")
	if derr == nil && ok {
		at, err1 := strconv.ParseInt(a, 10, 64)
		id, err2 := strconv.ParseInt(b, 10, 64)
		if err1 == nil && err2 == nil {
			return at, id, nil
		}
	}
	return 0, 0, Invalid("cursor", "%q is not a cursor this server gave out", s)
}

// Bounces lists bounces and complaints, newest first, by keyset: of one
// list, or with listSlug "" of every list the actor may see. kind ""
// is every kind. The second result is the cursor of the next page ("" on
// the last).
func (s *Service) Bounces(ctx context.Context, a tidings.Actor, listSlug, kind, cursor string, limit int) ([]Bounce, string, error) {
	if err := authorize(a, PermView, 0); err != nil {
		return nil, "", err
	}
	switch kind {
	case "", "hard", "soft", "complaint":
	default:
		return nil, "", Invalid("kind", "%q: want hard, soft or complaint", kind)
	}
	switch {
	case limit == 0:
		limit = defaultPageSize
	case limit < 0:
		return nil, "", Invalid("limit", "%d: want a number from 1 to %d", limit, maxPageSize)
	case limit > maxPageSize:
		limit = maxPageSize
	}
	var where []string
	var args []any
	if listSlug != "" {
		l, err := s.resolveList(ctx, a, listSlug, PermView)
		if err != nil {
			return nil, "", err
		}
		where = append(where, "b.list_id = ?")
		args = append(args, l.ID)
	} else if !a.AllLists {
		if len(a.Lists) == 0 {
			return []Bounce{}, "", nil
		}
		marks := strings.TrimSuffix(strings.Repeat("?,", len(a.Lists)), ",")
		where = append(where, "b.list_id IN ("+marks+")")
		for _, id := range a.Lists {
			args = append(args, id)
		}
	}
	if kind != "" {
		where = append(where, "b.kind = ?")
		args = append(args, kind)
	}
	if cursor != "" {
		at, id, err := parseBounceCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		where = append(where, "(b.at < ? OR (b.at = ? AND b.id < ?))")
		args = append(args, at, at, id)
	}
	q := `SELECT b.id, p.email, l.slug, coalesce(b.issue_id, 0), b.kind, b.code, b.diagnostic, b.source, b.at
		FROM bounces b JOIN subscribers p ON p.id = b.subscriber_id JOIN lists l ON l.id = b.list_id`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY b.at DESC, b.id DESC LIMIT ?"
	args = append(args, limit+1)
	out := make([]Bounce, 0, min(limit, 64))
	more := false
	err := s.eachRow(ctx, q, args, func(r *sql.Rows) error {
		if len(out) == limit {
			more = true
			return nil
		}
		var b Bounce
		var at int64
		if err := r.Scan(&b.ID, &b.Email, &b.ListSlug, &b.IssueID, &b.Kind, &b.Code, &b.Diagnostic, &b.Source, &at); err != nil {
			return err
		}
		b.At = db.Time(at)
		out = append(out, b)
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("bounces: %w", err)
	}
	next := ""
	if more {
		next = bounceCursor(out[len(out)-1])
	}
	return out, next, nil
}
