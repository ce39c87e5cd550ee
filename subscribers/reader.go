package subscribers

// Reader-facing operations: what the subscribe form, the confirmation link
// and the preference centre do to the store. They live apart from the admin
// operations because their rules differ: an admin's `sub add` confirms at
// once and refuses duplicates, while a form submitted by anyone must never
// reveal or change who is subscribed, and only a link from the mailbox
// itself may confirm.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
)

var (
	// ErrTokenUsed: a single-use token (a confirmation link) was spent before.
	ErrTokenUsed = errors.New("token already used")
	// ErrNotConfirmable: the subscription is bounced or blocked; a
	// confirmation link does not bring it back.
	ErrNotConfirmable = errors.New("subscription cannot be confirmed")
)

// Outcome is what a subscription request did.
type Outcome struct {
	Subscriber *tidings.Subscriber
	// Before is the status on the list before the request; "" when the
	// person was not on the list.
	Before tidings.Status
	// NeedsConfirm: the subscription is pending and a confirmation mail
	// should go out. False for confirmed readers (send them a link to
	// their preferences instead) and for bounced or blocked ones (send
	// nothing).
	NeedsConfirm bool
}

// Reply is the mail a subscription request calls for. The web form and
// subscribe-by-mail both answer with it, so they cannot drift apart.
type Reply int

const (
	ReplyNone    Reply = iota // bounced or blocked: send nothing
	ReplyConfirm              // pending: the confirmation link
	ReplyManage               // already confirmed: a link to the preferences
)

// Reply decides which mail answers the request.
func (o Outcome) Reply() Reply {
	switch {
	case o.NeedsConfirm:
		return ReplyConfirm
	case o.Before == tidings.StatusConfirmed:
		return ReplyManage
	}
	return ReplyNone
}

// RequestSubscription records a reader's wish to subscribe (double opt-in):
//   - not on the list: a pending subscription with the chosen topics;
//   - pending: topics (and name) refreshed, still pending;
//   - unsubscribed: pending again with the new topics (re-opt-in);
//   - confirmed: unchanged, Outcome.Before says so;
//   - bounced or blocked: unchanged, no mail.
//
// The name is only taken when the person is confirmed on no list at all, so
// a stranger submitting someone's address cannot rename them.
func (s *Store) RequestSubscription(ctx context.Context, listID int64, email, name string, topics TopicChoice) (Outcome, error) {
	e, err := tidings.ParseEmail(email)
	if err != nil {
		return Outcome{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	name = CleanName(name)
	if len([]rune(name)) > 200 {
		return Outcome{}, invalidf("name is longer than 200 characters")
	}
	var out Outcome
	var subID int64
	err = s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, "SELECT 1 FROM lists WHERE id = ?", listID).Scan(&one); err != nil {
			return listErr(fmt.Sprintf("#%d", listID), err)
		}
		ids, err := topicIDs(ctx, tx, listID, topics.Slugs)
		if err != nil {
			return err
		}
		now := db.Unix(s.now())
		var curName string
		err = tx.QueryRowContext(ctx, "SELECT id, name FROM subscribers WHERE email_key = ?", e.Key).Scan(&subID, &curName)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			res, err := tx.ExecContext(ctx, "INSERT INTO subscribers (email, email_key, name, created_at) VALUES (?, ?, ?, ?)", e.Addr, e.Key, name, now)
			if err != nil {
				return fmt.Errorf("add %s: %w", e.Addr, err)
			}
			if subID, err = res.LastInsertId(); err != nil {
				return err
			}
		case err != nil:
			return fmt.Errorf("find %s: %w", e.Addr, err)
		}
		var cur string
		err = tx.QueryRowContext(ctx, "SELECT status FROM subscriptions WHERE list_id = ? AND subscriber_id = ?", listID, subID).Scan(&cur)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, `INSERT INTO subscriptions (list_id, subscriber_id, status, all_topics, created_at, updated_at)
				VALUES (?, ?, 'pending', ?, ?, ?)`, listID, subID, topics.All, now, now); err != nil {
				return fmt.Errorf("subscribe %s: %w", e.Addr, err)
			}
		case err != nil:
			return fmt.Errorf("subscribe %s: %w", e.Addr, err)
		default:
			out.Before = tidings.Status(cur)
		}
		switch out.Before {
		case tidings.StatusConfirmed, tidings.StatusBounced, tidings.StatusBlocked:
			return nil
		}
		out.NeedsConfirm = true
		if _, err := tx.ExecContext(ctx, "UPDATE subscriptions SET status = 'pending', updated_at = ? WHERE list_id = ? AND subscriber_id = ?",
			now, listID, subID); err != nil {
			return fmt.Errorf("subscribe %s: %w", e.Addr, err)
		}
		if err := writeTopics(ctx, tx, listID, subID, topics.All, ids); err != nil {
			return fmt.Errorf("subscribe %s: %w", e.Addr, err)
		}
		if name != "" && name != curName {
			var confirmed int
			if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM subscriptions WHERE subscriber_id = ? AND status = 'confirmed'", subID).Scan(&confirmed); err != nil {
				return fmt.Errorf("subscribe %s: %w", e.Addr, err)
			}
			if confirmed == 0 {
				if _, err := tx.ExecContext(ctx, "UPDATE subscribers SET name = ? WHERE id = ?", name, subID); err != nil {
					return fmt.Errorf("rename %s: %w", e.Addr, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return Outcome{}, err
	}
	if out.Subscriber, err = s.GetByID(ctx, subID); err != nil {
		return Outcome{}, err
	}
	return out, nil
}

// CleanName makes a display name typed by a reader safe to store and to
// put in a To header: control characters (line breaks above all) become
// spaces, runs of white space one space, and the ends are trimmed.
func CleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// ConfirmSubscription spends a confirmation token's nonce and confirms the
// pending subscription, in one transaction: a nonce seen before is
// ErrTokenUsed and changes nothing. Confirming a confirmed subscription is
// not an error (the reader clicked a second, older link); a bounced or
// blocked one is ErrNotConfirmable.
func (s *Store) ConfirmSubscription(ctx context.Context, listID, subID int64, nonce []byte) error {
	if len(nonce) == 0 {
		return invalidf("confirmation without a nonce")
	}
	return s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		var cur string
		err := tx.QueryRowContext(ctx, "SELECT status FROM subscriptions WHERE list_id = ? AND subscriber_id = ?", listID, subID).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("subscriber #%d on list #%d: %w", subID, listID, ErrNotFound)
		}
		if err != nil {
			return fmt.Errorf("confirm: %w", err)
		}
		now := db.Unix(s.now())
		_, err = tx.ExecContext(ctx, "INSERT INTO used_tokens (nonce, subscriber_id, used_at) VALUES (?, ?, ?)", nonce, subID, now)
		if isUnique(err) {
			return ErrTokenUsed
		}
		if err != nil {
			return fmt.Errorf("confirm: %w", err)
		}
		switch tidings.Status(cur) {
		case tidings.StatusConfirmed:
			return nil
		case tidings.StatusBounced, tidings.StatusBlocked:
			return fmt.Errorf("subscriber #%d is %s: %w", subID, cur, ErrNotConfirmable)
		}
		if _, err := tx.ExecContext(ctx, "UPDATE subscriptions SET status = 'confirmed', updated_at = ? WHERE list_id = ? AND subscriber_id = ?",
			now, listID, subID); err != nil {
			return fmt.Errorf("confirm: %w", err)
		}
		return nil
	})
}

// UnsubscribeAll unsubscribes a person from every list they are pending or
// confirmed on ("unsubscribe from everything") and reports how many
// subscriptions changed. Bounced and blocked subscriptions keep their status.
func (s *Store) UnsubscribeAll(ctx context.Context, subID int64) (int, error) {
	var n int64
	err := s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE subscriptions SET status = 'unsubscribed', updated_at = ?
			WHERE subscriber_id = ? AND status IN ('pending', 'confirmed')`, db.Unix(s.now()), subID)
		if err != nil {
			return fmt.Errorf("unsubscribe all: %w", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// PublicList is the list with this slug without its subscriber count. The
// reader pages look a list up on every request; counting a large list's
// subscriptions each time would cost a scan of them (hundreds of
// milliseconds at 100 000 subscribers).
func (s *Store) PublicList(ctx context.Context, slug string) (*tidings.List, error) {
	l, err := scanList(s.d.R.QueryRowContext(ctx, `SELECT `+listColumns+`, 0 FROM lists l WHERE l.slug = ?`, slug))
	if err != nil {
		return nil, listErr(slug, err)
	}
	return l, nil
}

// PublicTopics are a list's topics in the order they were added, without
// subscriber counts (see PublicList).
func (s *Store) PublicTopics(ctx context.Context, listID int64) ([]tidings.Topic, error) {
	rows, err := s.d.R.QueryContext(ctx, "SELECT id, list_id, slug, name, keywords FROM topics WHERE list_id = ? ORDER BY id", listID)
	if err != nil {
		return nil, fmt.Errorf("topics: %w", err)
	}
	defer rows.Close()
	out := []tidings.Topic{}
	for rows.Next() {
		var t tidings.Topic
		var kw string
		if err := rows.Scan(&t.ID, &t.ListID, &t.Slug, &t.Name, &kw); err != nil {
			return nil, fmt.Errorf("topics: %w", err)
		}
		t.Keywords = splitKeywords(kw)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("topics: %w", err)
	}
	return out, nil
}
