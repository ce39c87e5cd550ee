package subscribers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
)

// TopicChoice is what a subscriber receives on a list: every topic (All,
// including topics added later) or the topics named by Slugs. Neither means
// no topic: only articles that carry no topic, which every reader gets.
type TopicChoice struct {
	All   bool
	Slugs []string
}

// AllTopics is the choice of every topic.
var AllTopics = TopicChoice{All: true}

// ParseTopicChoice reads the command-line and CSV form: "all", "none", or
// slugs separated by ',' or ';'.
func ParseTopicChoice(s string) (TopicChoice, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return TopicChoice{}, invalidf("no topics given: want topic slugs separated by ',' or ';', all, or none")
	}
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == '，' || r == '；' })
	var c TopicChoice
	seen := map[string]bool{}
	for _, p := range parts {
		p = strings.ToLower(strings.TrimSpace(p))
		switch {
		case p == "":
			continue
		case p == "all" || p == "none":
			if len(parts) > 1 {
				return TopicChoice{}, invalidf("topics %q: %s cannot be combined with topic slugs", s, p)
			}
			return TopicChoice{All: p == "all"}, nil
		case seen[p]:
			continue
		}
		if err := ValidSlug("topic", p); err != nil {
			return TopicChoice{}, err
		}
		seen[p] = true
		c.Slugs = append(c.Slugs, p)
	}
	if len(c.Slugs) == 0 {
		return TopicChoice{}, invalidf("topics %q: no topic slug in it", s)
	}
	sort.Strings(c.Slugs)
	return c, nil
}

// String is the CSV form: all, none, or slugs joined by ';'.
func (c TopicChoice) String() string {
	switch {
	case c.All:
		return "all"
	case len(c.Slugs) == 0:
		return "none"
	}
	return strings.Join(c.Slugs, ";")
}

// JSON is the --json form: ["all"], or the slugs (an empty array for none).
func (c TopicChoice) JSON() []string {
	if c.All {
		return []string{"all"}
	}
	if c.Slugs == nil {
		return []string{}
	}
	return c.Slugs
}

// ChoiceOf is the choice a subscription holds.
func ChoiceOf(sub tidings.Subscription) TopicChoice {
	if sub.AllTopics {
		return AllTopics
	}
	return TopicChoice{Slugs: sub.Topics}
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// topicIDs resolves slugs of a list to ids; an unknown slug is an error
// naming it and the slugs the list does have.
func topicIDs(ctx context.Context, q querier, listID int64, slugs []string) ([]int64, error) {
	if len(slugs) == 0 {
		return nil, nil
	}
	ts, err := loadTopicSlugs(ctx, q, listID)
	if err != nil {
		return nil, err
	}
	return ts.resolve(slugs)
}

// topicSlugs are a list's topic ids by slug, loaded once for many
// lookups (an import resolves every row against them).
type topicSlugs struct {
	ids   map[string]int64
	known []string // sorted, for error messages
}

func loadTopicSlugs(ctx context.Context, q querier, listID int64) (topicSlugs, error) {
	ts := topicSlugs{ids: map[string]int64{}}
	rows, err := q.QueryContext(ctx, "SELECT id, slug FROM topics WHERE list_id = ? ORDER BY slug", listID)
	if err != nil {
		return ts, fmt.Errorf("topics: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var slug string
		if err := rows.Scan(&id, &slug); err != nil {
			return ts, fmt.Errorf("topics: %w", err)
		}
		ts.ids[slug] = id
		ts.known = append(ts.known, slug)
	}
	if err := rows.Err(); err != nil {
		return ts, fmt.Errorf("topics: %w", err)
	}
	return ts, nil
}

func (ts topicSlugs) resolve(slugs []string) ([]int64, error) {
	ids := make([]int64, 0, len(slugs))
	for _, sl := range slugs {
		id, ok := ts.ids[sl]
		if !ok {
			return nil, unknownTopic(sl, ts.known)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func unknownTopic(slug string, known []string) error {
	if len(known) == 0 {
		return invalidf("unknown topic %q: the list has no topics yet", slug)
	}
	return invalidf("unknown topic %q (known: %s)", slug, strings.Join(known, ", "))
}

// writeTopics stores a subscription's choice; ids are resolved topic ids.
func writeTopics(ctx context.Context, tx *sql.Tx, listID, subID int64, all bool, ids []int64) error {
	if _, err := tx.ExecContext(ctx, "UPDATE subscriptions SET all_topics = ? WHERE list_id = ? AND subscriber_id = ?", all, listID, subID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM subscription_topics WHERE list_id = ? AND subscriber_id = ?", listID, subID); err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := tx.ExecContext(ctx, "INSERT INTO subscription_topics (list_id, subscriber_id, topic_id) VALUES (?, ?, ?)", listID, subID, id); err != nil {
			return err
		}
	}
	return nil
}

// Subscribe puts a person on a list with a status and topics, creating the
// person when new (and setting the name when one is given). A person who
// is already on the list is ErrExists: changing an existing subscription
// is SetStatus/SetTopics, so an admin cannot re-confirm an unsubscribed
// reader by accident.
func (s *Store) Subscribe(ctx context.Context, listID int64, email, name string, topics TopicChoice, status tidings.Status) (*tidings.Subscriber, error) {
	e, err := tidings.ParseEmail(email)
	if err != nil {
		return nil, invalid(err)
	}
	if _, err := tidings.ParseStatus(string(status)); err != nil {
		return nil, invalid(err)
	}
	name = strings.TrimSpace(name)
	if err := CheckName("name", name); err != nil {
		return nil, err
	}
	var subID int64
	err = s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		var slug string
		if err := tx.QueryRowContext(ctx, "SELECT slug FROM lists WHERE id = ?", listID).Scan(&slug); err != nil {
			return listErr(fmt.Sprintf("#%d", listID), err)
		}
		ids, err := topicIDs(ctx, tx, listID, topics.Slugs)
		if err != nil {
			return err
		}
		now := db.Unix(s.now())
		subID, err = upsertPerson(ctx, tx, e, name, now)
		if err != nil {
			return err
		}
		var cur string
		err = tx.QueryRowContext(ctx, "SELECT status FROM subscriptions WHERE list_id = ? AND subscriber_id = ?", listID, subID).Scan(&cur)
		if err == nil {
			return &kindError{ErrExists, fmt.Sprintf("%s is already on list %s (%s)", e.Addr, slug, cur)}
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("subscribe %s: %w", e.Addr, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO subscriptions (list_id, subscriber_id, status, all_topics, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`, listID, subID, string(status), topics.All, now, now); err != nil {
			return fmt.Errorf("subscribe %s: %w", e.Addr, err)
		}
		if err := writeTopics(ctx, tx, listID, subID, topics.All, ids); err != nil {
			return fmt.Errorf("subscribe %s: %w", e.Addr, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.GetByID(ctx, subID)
}

// upsertPerson finds or creates the subscriber row for e and returns its id.
func upsertPerson(ctx context.Context, tx *sql.Tx, e tidings.Email, name string, now int64) (int64, error) {
	var id int64
	var curName string
	err := tx.QueryRowContext(ctx, "SELECT id, name FROM subscribers WHERE email_key = ?", e.Key).Scan(&id, &curName)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		res, err := tx.ExecContext(ctx, "INSERT INTO subscribers (email, email_key, name, created_at) VALUES (?, ?, ?, ?)", e.Addr, e.Key, name, now)
		if err != nil {
			return 0, fmt.Errorf("add %s: %w", e.Addr, err)
		}
		return res.LastInsertId()
	case err != nil:
		return 0, fmt.Errorf("find %s: %w", e.Addr, err)
	}
	if name != "" && name != curName {
		if _, err := tx.ExecContext(ctx, "UPDATE subscribers SET name = ? WHERE id = ?", name, id); err != nil {
			return 0, fmt.Errorf("rename %s: %w", e.Addr, err)
		}
	}
	return id, nil
}

const subscriberSelect = "SELECT id, email, name, created_at FROM subscribers"

// Get is the person with this address (any spelling of it), with all
// their subscriptions.
func (s *Store) Get(ctx context.Context, email string) (*tidings.Subscriber, error) {
	e, err := tidings.ParseEmail(email)
	if err != nil {
		return nil, invalid(err)
	}
	return s.getWhere(ctx, e.Addr, "email_key = ?", e.Key)
}

// GetByID is the person with this id, with all their subscriptions.
func (s *Store) GetByID(ctx context.Context, id int64) (*tidings.Subscriber, error) {
	return s.getWhere(ctx, fmt.Sprintf("subscriber #%d", id), "id = ?", id)
}

func (s *Store) getWhere(ctx context.Context, what, where string, arg any) (*tidings.Subscriber, error) {
	var sub tidings.Subscriber
	var created int64
	err := s.d.R.QueryRowContext(ctx, subscriberSelect+" WHERE "+where, arg).Scan(&sub.ID, &sub.Email, &sub.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	sub.CreatedAt = db.Time(created)
	rows, err := s.d.R.QueryContext(ctx, subscriptionSelect+" WHERE sub.subscriber_id = ? ORDER BY l.slug", sub.ID)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	sub.Subscriptions = []tidings.Subscription{}
	for rows.Next() {
		ss, err := scanSubscription(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		sub.Subscriptions = append(sub.Subscriptions, ss)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return &sub, nil
}

// topicsOf is the sorted, comma-joined topic slugs of subscription "sub".
// All-topics subscriptions skip the lookup: their rows are ignored anyway.
const topicsOf = `CASE WHEN sub.all_topics THEN '' ELSE coalesce((SELECT group_concat(t.slug, ',' ORDER BY t.slug) FROM subscription_topics st
	JOIN topics t ON t.id = st.topic_id
	WHERE st.list_id = sub.list_id AND st.subscriber_id = sub.subscriber_id), '') END`

const subscriptionSelect = `SELECT sub.list_id, l.slug, sub.subscriber_id, sub.status, sub.all_topics, sub.created_at, sub.updated_at, ` + topicsOf + `
	FROM subscriptions sub JOIN lists l ON l.id = sub.list_id`

func scanSubscription(r scanner, extra ...any) (tidings.Subscription, error) {
	var ss tidings.Subscription
	var status, topics string
	var created, updated int64
	dest := append([]any{&ss.ListID, &ss.ListSlug, &ss.SubscriberID, &status, &ss.AllTopics, &created, &updated, &topics}, extra...)
	if err := r.Scan(dest...); err != nil {
		return ss, err
	}
	ss.Status = tidings.Status(status)
	ss.CreatedAt, ss.UpdatedAt = db.Time(created), db.Time(updated)
	ss.Topics = splitTopics(topics)
	return ss, nil
}

func splitTopics(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// Subscription is the subscription of subscriber subID on list listID.
func (s *Store) Subscription(ctx context.Context, listID, subID int64) (*tidings.Subscription, error) {
	ss, err := scanSubscription(s.d.R.QueryRowContext(ctx, subscriptionSelect+" WHERE sub.list_id = ? AND sub.subscriber_id = ?", listID, subID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("subscriber #%d on list #%d: %w", subID, listID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("subscription: %w", err)
	}
	return &ss, nil
}

// updateSubscription runs fn in a transaction after checking that the
// subscription exists, and stamps updated_at.
func (s *Store) updateSubscription(ctx context.Context, listID, subID int64, fn func(tx *sql.Tx) error) error {
	return s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE subscriptions SET updated_at = ? WHERE list_id = ? AND subscriber_id = ?", db.Unix(s.now()), listID, subID)
		if err != nil {
			return fmt.Errorf("update subscription: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("subscriber #%d is not on list #%d: %w", subID, listID, ErrNotFound)
		}
		return fn(tx)
	})
}

// SetTopics replaces the topics a subscriber receives on a list.
func (s *Store) SetTopics(ctx context.Context, listID, subID int64, c TopicChoice) error {
	return s.updateSubscription(ctx, listID, subID, func(tx *sql.Tx) error {
		ids, err := topicIDs(ctx, tx, listID, c.Slugs)
		if err != nil {
			return err
		}
		if err := writeTopics(ctx, tx, listID, subID, c.All, ids); err != nil {
			return fmt.Errorf("set topics: %w", err)
		}
		return nil
	})
}

// SetStatus changes a subscriber's status on a list.
func (s *Store) SetStatus(ctx context.Context, listID, subID int64, st tidings.Status) error {
	if _, err := tidings.ParseStatus(string(st)); err != nil {
		return invalid(err)
	}
	return s.updateSubscription(ctx, listID, subID, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE subscriptions SET status = ? WHERE list_id = ? AND subscriber_id = ?", string(st), listID, subID); err != nil {
			return fmt.Errorf("set status: %w", err)
		}
		return nil
	})
}

// Unsubscribe marks a subscriber unsubscribed from a list. The row stays,
// so that the person is not re-added by a later import or form by mistake.
func (s *Store) Unsubscribe(ctx context.Context, listID, subID int64) error {
	return s.SetStatus(ctx, listID, subID, tidings.StatusUnsubscribed)
}

// SetName changes a subscriber's display name.
func (s *Store) SetName(ctx context.Context, subID int64, name string) error {
	if err := CheckName("name", strings.TrimSpace(name)); err != nil {
		return err
	}
	return s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE subscribers SET name = ? WHERE id = ?", strings.TrimSpace(name), subID)
		if err != nil {
			return fmt.Errorf("set name: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("subscriber #%d: %w", subID, ErrNotFound)
		}
		return nil
	})
}

// Delete erases a person: their subscriber row and, by ON DELETE CASCADE,
// every subscription, topic choice, delivery, bounce and used token. With
// secure_delete the freed bytes are zeroed, and the checkpoint truncates
// the WAL, so the address is left nowhere in the database files.
func (s *Store) Delete(ctx context.Context, email string) error {
	e, err := tidings.ParseEmail(email)
	if err != nil {
		return invalid(err)
	}
	err = s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM subscribers WHERE email_key = ?", e.Key)
		if err != nil {
			return fmt.Errorf("delete %s: %w", e.Addr, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("%s: %w", e.Addr, ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.truncateWAL(ctx, e.Addr)
}

// truncateWAL checkpoints and truncates the WAL, and says so when another
// connection's open read kept SQLite from doing it (the old pages, with the
// erased bytes of what, would then stay in the WAL until a later
// checkpoint; SQLite runs one when the last connection closes).
func (s *Store) truncateWAL(ctx context.Context, what string) error {
	var busy, logFrames, done int
	if err := s.d.W.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done); err != nil {
		return fmt.Errorf("%s deleted, but checkpoint: %w", what, err)
	}
	if busy != 0 {
		return fmt.Errorf("%s deleted, but another process (the daemon, or a replication tool such as Litestream) is reading the database, so old pages stay in the write-ahead log until it stops or the next checkpoint: %w", what, ErrWALBusy)
	}
	return nil
}

// Filter selects subscriptions for EachSubscriber. Zero fields select all.
type Filter struct {
	ListID int64
	Topic  string // topic slug: subscribers who receive it (all-topics ones too)
	Status tidings.Status
}

// EachSubscriber streams the matching subscriptions in subscriber order,
// calling fn with the person and the subscription; fn's error stops it.
func (s *Store) EachSubscriber(ctx context.Context, f Filter, fn func(tidings.Subscriber, tidings.Subscription) error) error {
	q := `SELECT sub.list_id, l.slug, sub.subscriber_id, sub.status, sub.all_topics, sub.created_at, sub.updated_at, ` + topicsOf + `,
		p.email, p.name, p.created_at
		FROM subscriptions sub JOIN lists l ON l.id = sub.list_id JOIN subscribers p ON p.id = sub.subscriber_id WHERE 1`
	var args []any
	if f.ListID != 0 {
		q += " AND sub.list_id = ?"
		args = append(args, f.ListID)
	}
	if f.Status != "" {
		if _, err := tidings.ParseStatus(string(f.Status)); err != nil {
			return invalid(err)
		}
		q += " AND sub.status = ?"
		args = append(args, string(f.Status))
	}
	if f.Topic != "" {
		if f.ListID == 0 {
			return invalidf("a topic filter needs a list")
		}
		ids, err := topicIDs(ctx, s.d.R, f.ListID, []string{f.Topic})
		if err != nil {
			return err
		}
		q += ` AND (sub.all_topics = 1 OR EXISTS (SELECT 1 FROM subscription_topics st
			WHERE st.list_id = sub.list_id AND st.subscriber_id = sub.subscriber_id AND st.topic_id = ?))`
		args = append(args, ids[0])
	}
	q += " ORDER BY sub.subscriber_id, l.slug"
	rows, err := s.d.R.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("subscribers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p tidings.Subscriber
		var created int64
		ss, err := scanSubscription(rows, &p.Email, &p.Name, &created)
		if err != nil {
			return fmt.Errorf("subscribers: %w", err)
		}
		p.ID = ss.SubscriberID
		p.CreatedAt = db.Time(created)
		if err := fn(p, ss); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("subscribers: %w", err)
	}
	return nil
}

// Recipients streams the confirmed subscribers of a list in subscriber id
// order with their topic slugs (sorted; none when AllTopics). It is one
// query read row by row: memory stays flat however long the list is.
func (s *Store) Recipients(ctx context.Context, listID int64, fn func(tidings.Recipient) error) error {
	rows, err := s.d.R.QueryContext(ctx, `SELECT p.id, p.email, p.name, sub.all_topics, `+topicsOf+`
		FROM subscriptions sub JOIN subscribers p ON p.id = sub.subscriber_id
		WHERE sub.list_id = ? AND sub.status = 'confirmed'
		ORDER BY sub.subscriber_id`, listID)
	if err != nil {
		return fmt.Errorf("recipients: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r tidings.Recipient
		var topics string
		if err := rows.Scan(&r.SubscriberID, &r.Email, &r.Name, &r.AllTopics, &topics); err != nil {
			return fmt.Errorf("recipients: %w", err)
		}
		if !r.AllTopics {
			r.Topics = splitTopics(topics)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("recipients: %w", err)
	}
	return nil
}
