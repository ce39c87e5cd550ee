// Package subscribers owns the people side of tidings on SQLite: lists
// (newsletters), their topics, subscribers (one row per person, keyed by
// the lower-cased address) and subscriptions (a person on one list, with a
// status and the chosen topics). It also imports and exports subscribers as
// CSV, streaming row by row so a million-subscriber list never sits in
// memory.
//
// Reads go through the database's read pool and writes through its single
// writer, so a daemon and CLI commands can share one file.
package subscribers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/mail"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
)

var (
	// ErrNotFound: no such list, topic, subscriber or subscription.
	ErrNotFound = errors.New("not found")
	// ErrExists: the slug or subscription is already there.
	ErrExists = errors.New("already exists")
	// ErrInvalid: a value was refused; the wrapping error says which and why.
	ErrInvalid = errors.New("invalid")
	// ErrHasSubscribers: a list with subscribers is only deleted when forced.
	ErrHasSubscribers = errors.New("list has subscribers")
	// ErrWALBusy: a deletion committed, but a reader elsewhere kept the WAL
	// from being truncated, so erased bytes may linger there for a while.
	ErrWALBusy = errors.New("write-ahead log busy")
)

// Store is the subscribers store on one database.
type Store struct {
	d *db.DB
}

// NewStore returns a store on d; it keeps no state of its own.
func NewStore(d *db.DB) *Store { return &Store{d: d} }

func (s *Store) now() time.Time {
	if s.d.Now != nil {
		return s.d.Now()
	}
	return time.Now()
}

// kindError is an error whose message reads on its own (no "invalid: "
// prefix in a user's terminal) yet matches its sentinel with errors.Is.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string        { return e.msg }
func (e *kindError) Is(target error) bool { return target == e.kind }

func invalidf(format string, a ...any) error {
	return &kindError{ErrInvalid, fmt.Sprintf(format, a...)}
}

func invalid(err error) error { return &kindError{ErrInvalid, err.Error()} }

// reservedListSlugs are first path segments of tidings' own pages: a list's
// reader pages live at /{list}/…, and the console, the API, click and open
// tracking, the demo's outbox and the daemon's health and metrics would
// hide a list of that name when they share its listener.
var reservedListSlugs = []string{"admin", "api", "c", "o", "static", "outbox", "healthz", "metrics"}

// reserved refuses a new list slug that one of tidings' own pages uses.
// A list created before a name was reserved keeps working as it did.
func reserved(slug string) error {
	if slices.Contains(reservedListSlugs, slug) {
		return invalidf("list slug %q is taken by tidings' own pages (%s): choose another", slug, strings.Join(reservedListSlugs, ", "))
	}
	return nil
}

// ValidSlug checks a list or topic slug: lower-case ASCII letters, digits
// and '-', starting with a letter or digit, at most 64 bytes. Slugs appear
// in URLs and on command lines, so they stay plain; names carry the rest.
func ValidSlug(kind, slug string) error {
	if slug == "" {
		return invalidf("%s slug is empty", kind)
	}
	if len(slug) > 64 {
		return invalidf("%s slug %q is longer than 64 bytes", kind, slug)
	}
	for i := 0; i < len(slug); i++ {
		c := slug[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' && i > 0) {
			return invalidf("%s slug %q: use lower-case letters a-z, digits and '-' (not first)", kind, slug)
		}
	}
	return nil
}

// CheckName refuses control characters (a line break in a name would end
// up in a mail header), bytes that are not UTF-8 (a GBK file read as
// UTF-8: stored, they would garble every mail and page that shows them)
// and names over 200 characters.
func CheckName(what, name string) error {
	if !utf8.ValidString(name) {
		return invalidf("%s %q is not UTF-8 text (GBK or another encoding?)", what, name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return invalidf("%s %q contains a line break or control character", what, name)
		}
	}
	if n := utf8.RuneCountInString(name); n > 200 {
		return invalidf("%s is %d characters long, at most 200 allowed", what, n)
	}
	return nil
}

// isUnique reports a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// ---- lists ----

// normaliseList validates l and fills defaults (lang en, zone UTC).
func normaliseList(l *tidings.List) error {
	l.Slug = strings.TrimSpace(l.Slug)
	if err := ValidSlug("list", l.Slug); err != nil {
		return err
	}
	l.Name = strings.TrimSpace(l.Name)
	if l.Name == "" {
		return invalidf("list %s: name is empty", l.Slug)
	}
	for what, v := range map[string]string{"name": l.Name, "from": l.From, "reply-to": l.ReplyTo} {
		if err := CheckName("list "+l.Slug+": "+what, v); err != nil {
			return err
		}
	}
	l.From = strings.TrimSpace(l.From)
	if l.From == "" {
		return invalidf("list %s: from address is empty", l.Slug)
	}
	from, err := mail.ParseAddress(l.From)
	if err != nil {
		return invalidf("list %s: from %q: want \"Name <addr@example.org>\" or a bare address", l.Slug, l.From)
	}
	if _, err := tidings.ParseEmail(from.Address); err != nil {
		return invalidf("list %s: from: %v", l.Slug, err)
	}
	if l.Lang == "" {
		l.Lang = tidings.LangEN
	}
	lang, err := tidings.ParseLang(string(l.Lang))
	if err != nil {
		return invalidf("list %s: %v", l.Slug, err)
	}
	l.Lang = lang
	l.TZ = strings.TrimSpace(l.TZ)
	if l.TZ == "" {
		l.TZ = "UTC"
	}
	if _, err := time.LoadLocation(l.TZ); err != nil || strings.EqualFold(l.TZ, "local") {
		return invalidf("list %s: time zone %q: want an IANA name like Asia/Shanghai", l.Slug, l.TZ)
	}
	l.ReplyTo = strings.TrimSpace(l.ReplyTo)
	if l.ReplyTo != "" {
		rt, err := mail.ParseAddress(l.ReplyTo)
		if err != nil {
			return invalidf("list %s: reply-to %q is not an address", l.Slug, l.ReplyTo)
		}
		if _, err := tidings.ParseEmail(rt.Address); err != nil {
			return invalidf("list %s: reply-to: %v", l.Slug, err)
		}
	}
	l.Address = strings.TrimSpace(l.Address)
	if l.Clicks == "" {
		l.Clicks = tidings.TrackAggregate
	}
	if l.Opens == "" {
		l.Opens = tidings.TrackOff
	}
	// Stored as parsed ("Individual " is individual), so the table's
	// CHECK never sees a spelling the parser accepts.
	for what, t := range map[string]*tidings.Tracking{"clicks": &l.Clicks, "opens": &l.Opens} {
		m, err := tidings.ParseTracking(string(*t))
		if err != nil {
			return invalidf("list %s: %s: %v", l.Slug, what, err)
		}
		*t = m
	}
	if l.ActivityDays == 0 {
		l.ActivityDays = 180
	}
	if l.ActivityDays < 1 || l.ActivityDays > 3650 {
		return invalidf("list %s: activity days %d: want 1 to 3650", l.Slug, l.ActivityDays)
	}
	if (l.DKIMKey == "") != (l.DKIMSelector == "") {
		return invalidf("list %s: a DKIM key needs a selector, and a selector a key", l.Slug)
	}
	l.TemplateDir = strings.TrimSpace(l.TemplateDir)
	if l.TemplateDir != "" {
		// Stored as given; checked now so a typo fails here, not at send time.
		if fi, err := os.Stat(l.TemplateDir); err != nil || !fi.IsDir() {
			return invalidf("list %s: templates %q is not a directory", l.Slug, l.TemplateDir)
		}
	}
	return nil
}

// CreateList validates and stores a new list, setting l.ID.
func (s *Store) CreateList(ctx context.Context, l *tidings.List) error {
	if err := normaliseList(l); err != nil {
		return err
	}
	if err := reserved(l.Slug); err != nil {
		return err
	}
	l.CreatedAt = s.now().UTC().Truncate(time.Second)
	return s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO lists (slug, name, from_addr, lang, tz, reply_to, address, template_dir,
			dkim_selector, dkim_key, clicks, opens, activity_days, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			l.Slug, l.Name, l.From, string(l.Lang), l.TZ, l.ReplyTo, l.Address, l.TemplateDir,
			l.DKIMSelector, l.DKIMKey, string(l.Clicks), string(l.Opens), l.ActivityDays, db.Unix(l.CreatedAt))
		if isUnique(err) {
			return fmt.Errorf("list %s: %w", l.Slug, ErrExists)
		}
		if err != nil {
			return fmt.Errorf("create list %s: %w", l.Slug, err)
		}
		l.ID, err = res.LastInsertId()
		return err
	})
}

// UpdateList loads the list, lets fn change it, validates and stores it,
// all in one transaction.
func (s *Store) UpdateList(ctx context.Context, slug string, fn func(*tidings.List) error) error {
	return s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		l, err := scanList(tx.QueryRowContext(ctx, listSelect+" WHERE l.slug = ?", slug))
		if err != nil {
			return listErr(slug, err)
		}
		if err := fn(l); err != nil {
			return err
		}
		if err := normaliseList(l); err != nil {
			return err
		}
		if l.Slug != slug {
			if err := reserved(l.Slug); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE lists SET slug = ?, name = ?, from_addr = ?, lang = ?, tz = ?, reply_to = ?, address = ?, template_dir = ?,
			dkim_selector = ?, dkim_key = ?, clicks = ?, opens = ?, activity_days = ?
			WHERE id = ?`, l.Slug, l.Name, l.From, string(l.Lang), l.TZ, l.ReplyTo, l.Address, l.TemplateDir,
			l.DKIMSelector, l.DKIMKey, string(l.Clicks), string(l.Opens), l.ActivityDays, l.ID)
		if isUnique(err) {
			return fmt.Errorf("list %s: %w", l.Slug, ErrExists)
		}
		if err != nil {
			return fmt.Errorf("update list %s: %w", slug, err)
		}
		return forgetUntracked(ctx, tx, l)
	})
}

// forgetUntracked deletes the per-person click or open events (package
// track) of a list that no longer tracks that kind individually: once the
// preference page says "we do not record who clicked", no row does. The
// counters, which name no one, keep every event.
func forgetUntracked(ctx context.Context, tx *sql.Tx, l *tidings.List) error {
	for kind, mode := range map[string]tidings.Tracking{"click": l.Clicks, "open": l.Opens} {
		if mode == tidings.TrackIndividual {
			continue
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM track_events WHERE kind = ? AND issue_id IN (SELECT id FROM issues WHERE list_id = ?)`,
			kind, l.ID); err != nil {
			return fmt.Errorf("update list %s: forget per-person %s events: %w", l.Slug, kind, err)
		}
	}
	return nil
}

// listColumns are the columns scanList reads, before the subscriber count.
const listColumns = `l.id, l.slug, l.name, l.from_addr, l.lang, l.tz, l.reply_to, l.address, l.template_dir,
	l.dkim_selector, l.dkim_key, l.clicks, l.opens, l.activity_days, l.created_at`

const listSelect = `SELECT ` + listColumns + `,
	(SELECT count(*) FROM subscriptions s WHERE s.list_id = l.id AND s.status = 'confirmed')
	FROM lists l`

type scanner interface{ Scan(...any) error }

func scanList(r scanner) (*tidings.List, error) {
	var l tidings.List
	var lang, clicks, opens string
	var created int64
	if err := r.Scan(&l.ID, &l.Slug, &l.Name, &l.From, &lang, &l.TZ, &l.ReplyTo, &l.Address, &l.TemplateDir,
		&l.DKIMSelector, &l.DKIMKey, &clicks, &opens, &l.ActivityDays, &created, &l.Subscribers); err != nil {
		return nil, err
	}
	l.Lang = tidings.Lang(lang)
	l.Clicks, l.Opens = tidings.Tracking(clicks), tidings.Tracking(opens)
	l.CreatedAt = db.Time(created)
	return &l, nil
}

func listErr(slug string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("list %q: %w", slug, ErrNotFound)
	}
	return fmt.Errorf("list %q: %w", slug, err)
}

// List is the list with this slug, with its count of confirmed subscribers.
func (s *Store) List(ctx context.Context, slug string) (*tidings.List, error) {
	l, err := scanList(s.d.R.QueryRowContext(ctx, listSelect+" WHERE l.slug = ?", slug))
	if err != nil {
		return nil, listErr(slug, err)
	}
	return l, nil
}

// ListByID is the list with this id.
func (s *Store) ListByID(ctx context.Context, id int64) (*tidings.List, error) {
	l, err := scanList(s.d.R.QueryRowContext(ctx, listSelect+" WHERE l.id = ?", id))
	if err != nil {
		return nil, listErr(fmt.Sprintf("#%d", id), err)
	}
	return l, nil
}

// Lists are all lists by slug, each with its count of confirmed subscribers.
func (s *Store) Lists(ctx context.Context) ([]tidings.List, error) {
	rows, err := s.d.R.QueryContext(ctx, listSelect+" ORDER BY l.slug")
	if err != nil {
		return nil, fmt.Errorf("lists: %w", err)
	}
	defer rows.Close()
	var out []tidings.List
	for rows.Next() {
		l, err := scanList(rows)
		if err != nil {
			return nil, fmt.Errorf("lists: %w", err)
		}
		out = append(out, *l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lists: %w", err)
	}
	return out, nil
}

// ResolveList is the list a command means: the named one, or, when slug is
// empty, the only list of the database. With several lists and no slug the
// error names them, so the user knows what --list takes.
func (s *Store) ResolveList(ctx context.Context, slug string) (*tidings.List, error) {
	if slug != "" {
		return s.List(ctx, slug)
	}
	rows, err := s.d.R.QueryContext(ctx, "SELECT slug FROM lists ORDER BY slug LIMIT 11")
	if err != nil {
		return nil, fmt.Errorf("lists: %w", err)
	}
	var slugs []string
	for rows.Next() {
		var sl string
		if err := rows.Scan(&sl); err != nil {
			rows.Close()
			return nil, fmt.Errorf("lists: %w", err)
		}
		slugs = append(slugs, sl)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("lists: %w", err)
	}
	switch len(slugs) {
	case 0:
		return nil, &kindError{ErrNotFound, "no list yet: create one with tidings list add"}
	case 1:
		return s.List(ctx, slugs[0])
	}
	if len(slugs) > 10 {
		slugs = append(slugs[:10], "…")
	}
	return nil, invalidf("several lists: use --list (%s)", strings.Join(slugs, ", "))
}

// DeleteList removes a list with its topics, issues and subscriptions. While
// pending or confirmed subscribers remain it refuses unless force is set.
// People left on no list at all are erased too: nothing else needs them.
func (s *Store) DeleteList(ctx context.Context, slug string, force bool) error {
	err := s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, "SELECT id FROM lists WHERE slug = ?", slug).Scan(&id); err != nil {
			return listErr(slug, err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM subscriptions WHERE list_id = ? AND status IN ('pending', 'confirmed')", id).Scan(&n); err != nil {
			return fmt.Errorf("delete list %s: %w", slug, err)
		}
		if n > 0 && !force {
			return &kindError{ErrHasSubscribers, fmt.Sprintf("list %s has %d pending or confirmed subscribers: use --force to delete it anyway", slug, n)}
		}
		// Remember who is only on this list before the cascade forgets it.
		if _, err := tx.ExecContext(ctx, `DELETE FROM subscribers WHERE id IN (
				SELECT subscriber_id FROM subscriptions WHERE list_id = ?1
				EXCEPT SELECT subscriber_id FROM subscriptions WHERE list_id <> ?1)`, id); err != nil {
			return fmt.Errorf("delete list %s: %w", slug, err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM lists WHERE id = ?", id); err != nil {
			return fmt.Errorf("delete list %s: %w", slug, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.truncateWAL(ctx, "list "+slug)
}

// ---- topics ----

func normaliseTopic(t *tidings.Topic) error {
	t.Slug = strings.TrimSpace(t.Slug)
	if err := ValidSlug("topic", t.Slug); err != nil {
		return err
	}
	if t.Slug == "all" || t.Slug == "none" {
		return invalidf("topic slug %q is reserved (it means every topic or no topic)", t.Slug)
	}
	t.Name = strings.TrimSpace(t.Name)
	if t.Name == "" {
		return invalidf("topic %s: name is empty", t.Slug)
	}
	if err := CheckName("topic "+t.Slug+": name", t.Name); err != nil {
		return err
	}
	t.Keywords = CleanKeywords(t.Keywords)
	return nil
}

// CleanKeywords trims keywords and drops empty and repeated ones; commas
// are separators in storage, so a keyword with one is split there.
func CleanKeywords(kw []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range kw {
		for _, part := range strings.FieldsFunc(k, func(r rune) bool { return r == ',' || r == '，' }) {
			part = strings.TrimSpace(part)
			if part == "" || seen[strings.ToLower(part)] {
				continue
			}
			seen[strings.ToLower(part)] = true
			out = append(out, part)
		}
	}
	return out
}

func topicErr(slug string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("topic %q: %w", slug, ErrNotFound)
	}
	return fmt.Errorf("topic %q: %w", slug, err)
}

// AddTopic stores a new topic of a list, setting t.ID and t.ListID.
func (s *Store) AddTopic(ctx context.Context, listID int64, t *tidings.Topic) error {
	if err := normaliseTopic(t); err != nil {
		return err
	}
	t.ListID = listID
	return s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "INSERT INTO topics (list_id, slug, name, keywords, created_at) VALUES (?, ?, ?, ?, ?)",
			listID, t.Slug, t.Name, strings.Join(t.Keywords, ","), db.Unix(s.now()))
		if isUnique(err) {
			return fmt.Errorf("topic %s: %w", t.Slug, ErrExists)
		}
		if err != nil && strings.Contains(err.Error(), "FOREIGN KEY") {
			return fmt.Errorf("list #%d: %w", listID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("add topic %s: %w", t.Slug, err)
		}
		t.ID, err = res.LastInsertId()
		return err
	})
}

// UpdateTopic loads a topic, lets fn change it, validates and stores it.
func (s *Store) UpdateTopic(ctx context.Context, listID int64, slug string, fn func(*tidings.Topic) error) error {
	return s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		var t tidings.Topic
		var kw string
		err := tx.QueryRowContext(ctx, "SELECT id, list_id, slug, name, keywords FROM topics WHERE list_id = ? AND slug = ?", listID, slug).
			Scan(&t.ID, &t.ListID, &t.Slug, &t.Name, &kw)
		if err != nil {
			return topicErr(slug, err)
		}
		t.Keywords = splitKeywords(kw)
		if err := fn(&t); err != nil {
			return err
		}
		if err := normaliseTopic(&t); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE topics SET slug = ?, name = ?, keywords = ? WHERE id = ?",
			t.Slug, t.Name, strings.Join(t.Keywords, ","), t.ID)
		if isUnique(err) {
			return fmt.Errorf("topic %s: %w", t.Slug, ErrExists)
		}
		if err != nil {
			return fmt.Errorf("update topic %s: %w", slug, err)
		}
		return nil
	})
}

func splitKeywords(kw string) []string {
	if kw == "" {
		return []string{}
	}
	return strings.Split(kw, ",")
}

// Topics are a list's topics in the order they were added, each with the
// number of confirmed subscribers who receive it (all-topics ones included).
func (s *Store) Topics(ctx context.Context, listID int64) ([]tidings.Topic, error) {
	out, err := s.PublicTopics(ctx, listID)
	if err != nil {
		return nil, err
	}
	// Two aggregate queries for the whole list, not a count per topic:
	// the all-topics readers once (they receive every topic), then the
	// other readers grouped by topic.
	var all int
	if err := s.d.R.QueryRowContext(ctx, `SELECT count(*) FROM subscriptions INDEXED BY subscriptions_all_topics
		WHERE list_id = ? AND status = 'confirmed' AND all_topics`, listID).Scan(&all); err != nil {
		return nil, fmt.Errorf("topics: %w", err)
	}
	rows, err := s.d.R.QueryContext(ctx, `SELECT st.topic_id, count(*) FROM subscription_topics st
		JOIN subscriptions s ON s.list_id = st.list_id AND s.subscriber_id = st.subscriber_id
		WHERE st.list_id = ? AND s.status = 'confirmed' AND NOT s.all_topics GROUP BY st.topic_id`, listID)
	if err != nil {
		return nil, fmt.Errorf("topics: %w", err)
	}
	defer rows.Close()
	byTopic := map[int64]int{}
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("topics: %w", err)
		}
		byTopic[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("topics: %w", err)
	}
	for i := range out {
		out[i].Subscribers = all + byTopic[out[i].ID]
	}
	return out, nil
}

// Topic is one topic of a list by slug.
func (s *Store) Topic(ctx context.Context, listID int64, slug string) (*tidings.Topic, error) {
	var t tidings.Topic
	var kw string
	err := s.d.R.QueryRowContext(ctx, "SELECT id, list_id, slug, name, keywords FROM topics WHERE list_id = ? AND slug = ?", listID, slug).
		Scan(&t.ID, &t.ListID, &t.Slug, &t.Name, &kw)
	if err != nil {
		return nil, topicErr(slug, err)
	}
	t.Keywords = splitKeywords(kw)
	return &t, nil
}

// DeleteTopic removes a topic; subscribers who chose it keep their other
// topics, and articles tagged with it lose the tag.
func (s *Store) DeleteTopic(ctx context.Context, listID int64, slug string) error {
	return s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM topics WHERE list_id = ? AND slug = ?", listID, slug)
		if err != nil {
			return fmt.Errorf("delete topic %s: %w", slug, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("topic %q: %w", slug, ErrNotFound)
		}
		return nil
	})
}
