package ops

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/subscribers"
)

// SubscriberQuery filters and pages a list's subscribers.
type SubscriberQuery struct {
	Q      string         // the start of an address, or (without '@') of a name
	Status tidings.Status // "" = any
	Topic  string         // topic slug: readers who receive it
	Cursor string         // from the previous page's Next
	Limit  int            // default 50, at most 500
}

// SubscriberRow is one subscriber on one list.
type SubscriberRow struct {
	ID        int64
	Email     string
	Name      string
	Status    tidings.Status
	AllTopics bool
	Topics    []string
	UpdatedAt time.Time
}

// SubscriberPage is one page of a keyset-paginated listing.
type SubscriberPage struct {
	Rows []SubscriberRow
	Next string // "" on the last page
}

const (
	defaultPageSize = 50
	maxPageSize     = 500
)

// pageCursor is where the next page starts, after the last row shown. It
// is opaque to clients. Modes: "i" a plain listing, by subscriber id;
// "e" a search's address matches, by address; "n" then its name matches
// (people whose address does not match), by name and id.
type pageCursor struct {
	Mode string `json:"m"`
	ID   int64  `json:"i,omitempty"`
	Key  string `json:"k,omitempty"` // "e": the email_key; "n": the name
}

func (c pageCursor) String() string {
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(b)
}

func parseCursor(s string, search bool) (pageCursor, error) {
	c := pageCursor{Mode: "i"}
	if search {
		c.Mode = "e"
	}
	if s == "" {
		return c, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(b, &c) != nil {
		return c, Invalid("cursor", "%q is not a cursor this server gave out", s)
	}
	if (c.Mode == "i") == search || c.Mode != "i" && c.Mode != "e" && c.Mode != "n" {
		return c, Invalid("cursor", "the cursor belongs to another search: start again without it")
	}
	return c, nil
}

// topicsOfSub is the sorted, comma-joined topic slugs of subscription
// "sub" (empty for all-topics readers: their rows are ignored).
const topicsOfSub = `CASE WHEN sub.all_topics THEN '' ELSE coalesce((SELECT group_concat(t.slug, ',' ORDER BY t.slug)
	FROM subscription_topics st JOIN topics t ON t.id = st.topic_id
	WHERE st.list_id = sub.list_id AND st.subscriber_id = sub.subscriber_id), '') END`

const rowColumns = `SELECT sub.subscriber_id, p.email, p.name, sub.status, sub.all_topics, sub.updated_at, ` + topicsOfSub

// Subscribers lists a list's subscribers, keyset-paginated: every page is
// one walk along an index from the cursor, so the first page and the
// thousandth cost the same. Without Q the rows come in subscriber order
// (the subscriptions' primary key, or the status index with a status
// filter). With Q come first the people whose address starts with Q, in
// address order (the address index), then — unless Q holds an '@' —
// those whose name starts with it, any case, in name order (the name
// index). Rows added while a client pages appear at most once, and no row
// that was there all along is skipped.
func (s *Service) Subscribers(ctx context.Context, a tidings.Actor, listSlug string, q SubscriberQuery) (*SubscriberPage, error) {
	l, err := s.resolveList(ctx, a, listSlug, PermView)
	if err != nil {
		return nil, err
	}
	limit := q.Limit
	switch {
	case limit == 0:
		limit = defaultPageSize
	case limit < 0:
		return nil, Invalid("limit", "%d: want a number from 1 to %d", limit, maxPageSize)
	case limit > maxPageSize:
		limit = maxPageSize
	}
	filter := []string{"sub.list_id = ?"}
	fargs := []any{l.ID}
	if q.Status != "" {
		st, err := tidings.ParseStatus(string(q.Status))
		if err != nil {
			return nil, plainInvalid("status", "%v", err)
		}
		filter = append(filter, "sub.status = ?")
		fargs = append(fargs, string(st))
	}
	if q.Topic != "" {
		t, err := s.store().Topic(ctx, l.ID, strings.TrimSpace(q.Topic))
		if errors.Is(err, subscribers.ErrNotFound) {
			return nil, s.unknownTopic(ctx, l, "topic", q.Topic)
		}
		if err != nil {
			return nil, err
		}
		filter = append(filter, `(sub.all_topics = 1 OR EXISTS (SELECT 1 FROM subscription_topics st
			WHERE st.list_id = sub.list_id AND st.subscriber_id = sub.subscriber_id AND st.topic_id = ?))`)
		fargs = append(fargs, t.ID)
	}
	search := strings.TrimSpace(q.Q)
	cur, err := parseCursor(q.Cursor, search != "")
	if err != nil {
		return nil, err
	}
	pg := &pager{s: s, ctx: ctx, limit: limit, filter: filter, fargs: fargs, page: &SubscriberPage{Rows: []SubscriberRow{}}}
	if search == "" {
		err = pg.byID(cur)
	} else {
		err = pg.search(search, cur)
	}
	if err != nil {
		return nil, fmt.Errorf("subscribers of %s: %w", l.Slug, err)
	}
	return pg.page, nil
}

// pager fills one page, from one or (a search moving from addresses to
// names) two index walks.
type pager struct {
	s      *Service
	ctx    context.Context
	limit  int
	filter []string // on the subscription "sub", one '?' each
	fargs  []any
	page   *SubscriberPage
}

func (pg *pager) byID(cur pageCursor) error {
	_, err := pg.walk(`FROM subscriptions sub JOIN subscribers p ON p.id = sub.subscriber_id WHERE sub.subscriber_id > ?`,
		[]any{cur.ID}, "sub.subscriber_id", cur, func(r SubscriberRow) pageCursor { return pageCursor{Mode: "i", ID: r.ID} })
	return err
}

// search walks the address matches, then the name matches. CROSS JOIN
// keeps SQLite on the subscribers' index rather than driving the search
// from the list's subscriptions (a scan of the whole list).
func (pg *pager) search(q string, cur pageCursor) error {
	lo, hi := strings.ToLower(q), strings.ToLower(q)+"\U0010FFFF"
	if cur.Mode == "e" {
		// One lower bound, the tighter of the search and the cursor, so
		// the walk starts there and not at the start of the index.
		from, op := lo, ">="
		if cur.Key >= lo {
			from, op = cur.Key, ">"
		}
		full, err := pg.walk(`FROM subscribers p CROSS JOIN subscriptions sub ON sub.subscriber_id = p.id
			WHERE p.email_key `+op+` ? AND p.email_key < ?`, []any{from, hi}, "p.email_key", cur,
			func(r SubscriberRow) pageCursor { return pageCursor{Mode: "e", Key: emailKey(r.Email)} })
		if err != nil || full || strings.Contains(q, "@") {
			return err
		}
		cur = pageCursor{Mode: "n"}
	}
	where := `FROM subscribers p CROSS JOIN subscriptions sub ON sub.subscriber_id = p.id
		WHERE p.name >= ? COLLATE NOCASE AND p.name < ? COLLATE NOCASE AND NOT (p.email_key >= ? AND p.email_key < ?)`
	args := []any{q, q + "\U0010FFFF", lo, hi}
	if cur.Key != "" || cur.ID != 0 {
		where = `FROM subscribers p CROSS JOIN subscriptions sub ON sub.subscriber_id = p.id
			WHERE p.name >= ? COLLATE NOCASE AND p.name < ? COLLATE NOCASE AND NOT (p.email_key >= ? AND p.email_key < ?)
			AND (p.name > ? COLLATE NOCASE OR p.name = ? COLLATE NOCASE AND p.id > ?)`
		args = []any{cur.Key, q + "\U0010FFFF", lo, hi, cur.Key, cur.Key, cur.ID}
	}
	_, err := pg.walk(where, args, "p.name COLLATE NOCASE, p.id", cur,
		func(r SubscriberRow) pageCursor { return pageCursor{Mode: "n", Key: r.Name, ID: r.ID} })
	return err
}

func emailKey(addr string) string {
	if e, err := tidings.ParseEmail(addr); err == nil {
		return e.Key
	}
	return strings.ToLower(addr)
}

// walk adds rows of one ordered query to the page until it is full; full
// reports that it is (with Next set when more rows follow).
// A walk that starts on a full page only looks whether a row follows,
// and if so the next page starts where this walk does (start).
func (pg *pager) walk(from string, args []any, order string, start pageCursor, next func(SubscriberRow) pageCursor) (full bool, err error) {
	want := pg.limit - len(pg.page.Rows)
	q := rowColumns + " " + from + " AND " + strings.Join(pg.filter, " AND ") + " ORDER BY " + order + " LIMIT ?"
	all := append(append(append([]any{}, args...), pg.fargs...), want+1)
	rows, err := pg.s.d.R.QueryContext(pg.ctx, q, all...)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		if n == want {
			c := start
			if n > 0 {
				c = next(pg.page.Rows[len(pg.page.Rows)-1])
			}
			pg.page.Next = c.String()
			return true, nil
		}
		var r SubscriberRow
		var status, topics string
		var updated int64
		if err := rows.Scan(&r.ID, &r.Email, &r.Name, &status, &r.AllTopics, &updated, &topics); err != nil {
			return false, err
		}
		r.Status, r.UpdatedAt = tidings.Status(status), db.Time(updated)
		r.Topics = []string{}
		if !r.AllTopics && topics != "" {
			r.Topics = strings.Split(topics, ",")
		}
		pg.page.Rows = append(pg.page.Rows, r)
		n++
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	// Exhausted (perhaps exactly filling the page): a search may still
	// have its names to walk.
	return false, nil
}
