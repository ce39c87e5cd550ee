package report

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tidings/tidings/db"
)

// IssueList is the list an issue belongs to, so that a caller can check
// the actor's right to it before computing anything.
func IssueList(ctx context.Context, d *db.DB, issueID int64) (int64, error) {
	var listID int64
	err := d.R.QueryRowContext(ctx, `SELECT list_id FROM issues WHERE id = ?`, issueID).Scan(&listID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("issue %d: %w", issueID, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("issue %d: %w", issueID, err)
	}
	return listID, nil
}

// ListID is the id of the list with slug.
func ListID(ctx context.Context, d *db.DB, slug string) (int64, error) {
	var id int64
	err := d.R.QueryRowContext(ctx, `SELECT id FROM lists WHERE slug = ?`, slug).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("list %q: %w", slug, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("list %q: %w", slug, err)
	}
	return id, nil
}

// querier is what both *sql.DB and *sql.Tx offer for reading.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// For computes the report of one issue from the delivery log, the bounces
// and the tracking tables, all read in one snapshot. An issue that was
// never sent has a report of zeros (its articles and the list's topics
// listed with no recipients), not an error.
func For(ctx context.Context, d *db.DB, issueID int64) (*Report, error) {
	tx, err := d.R.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("report of issue %d: %w", issueID, err)
	}
	defer tx.Rollback()
	r, err := compute(ctx, tx, issueID)
	if err != nil {
		return nil, fmt.Errorf("report of issue %d: %w", issueID, err)
	}
	return r, nil
}

func compute(ctx context.Context, q querier, issueID int64) (*Report, error) {
	r := &Report{Issue: issueID, Articles: []Article{}, Topics: []Topic{}, Links: []Link{},
		MachineReasons: map[string]int{}, Timeline: []Point{}}
	var started sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT i.number, i.title, i.status, l.id, l.slug, l.clicks, l.opens, s.started_at
		FROM issues i JOIN lists l ON l.id = i.list_id LEFT JOIN sends s ON s.issue_id = i.id
		WHERE i.id = ?`, issueID).
		Scan(&r.Number, &r.Title, &r.Status, &r.ListID, &r.List, &r.ClicksTracking, &r.OpensTracking, &started)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if started.Valid {
		r.SentAt = time.Unix(started.Int64, 0).UTC()
	}
	if err := bounceFigures(ctx, q, r); err != nil {
		return nil, err
	}
	if err := unsubscribed(ctx, q, r, started); err != nil {
		return nil, err
	}
	if err := reach(ctx, q, r); err != nil {
		return nil, err
	}
	if err := engagement(ctx, q, r); err != nil {
		return nil, err
	}
	return r, nil
}

// bounceFigures counts readers, not bounce messages: a reader whose mail
// bounced hard is counted hard once however many DSNs came back, and a
// reader with only soft bounces for the issue is counted soft once, so
// bounced = bounced_hard + bounced_soft. Complaints likewise count readers.
func bounceFigures(ctx context.Context, q querier, r *Report) error {
	err := q.QueryRowContext(ctx, `SELECT
			coalesce(sum(hard), 0), coalesce(sum(soft AND NOT hard), 0), coalesce(sum(complaint), 0)
		FROM (SELECT subscriber_id,
				max(kind = 'hard') AS hard, max(kind = 'soft') AS soft, max(kind = 'complaint') AS complaint
			FROM bounces WHERE issue_id = ? GROUP BY subscriber_id)`, r.Issue).
		Scan(&r.BouncedHard, &r.BouncedSoft, &r.Complaints)
	if err != nil {
		return fmt.Errorf("bounces: %w", err)
	}
	r.Bounced = r.BouncedHard + r.BouncedSoft
	return nil
}

// unsubscribed counts this issue's recipients whose subscription to the
// list is now 'unsubscribed' and was last changed after this issue's send
// started and before the next send of the list started (no end while this
// is the list's latest send). A complaint unsubscribes too, so a reader
// who complained is also counted here. Readers who left and came back, or
// were erased, are not counted: the figure reads the subscriptions as they
// stand.
func unsubscribed(ctx context.Context, q querier, r *Report, started sql.NullInt64) error {
	if !started.Valid {
		return nil
	}
	var next sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT min(s.started_at) FROM sends s JOIN issues i ON i.id = s.issue_id
		WHERE i.list_id = ? AND s.issue_id <> ? AND (s.started_at > ? OR (s.started_at = ? AND s.issue_id > ?))`,
		r.ListID, r.Issue, started.Int64, started.Int64, r.Issue).Scan(&next)
	if err != nil {
		return fmt.Errorf("next send: %w", err)
	}
	end := int64(1<<63 - 1)
	if next.Valid {
		end = next.Int64
	}
	err = q.QueryRowContext(ctx, `SELECT count(*) FROM deliveries d
		JOIN subscriptions s ON s.list_id = ? AND s.subscriber_id = d.subscriber_id
		WHERE d.issue_id = ? AND d.state <> 'skipped'
			AND s.status = 'unsubscribed' AND s.updated_at >= ? AND s.updated_at < ?`,
		r.ListID, r.Issue, started.Int64, end).Scan(&r.Unsubscribed)
	if err != nil {
		return fmt.Errorf("unsubscribed: %w", err)
	}
	return nil
}

// reach counts the recipients and deliveries, and fills the articles and
// topics with their recipients. Recipients are the delivery log's rows
// except the skipped ones (readers whose topics selected no article);
// delivered are those the relay accepted and that did not bounce
// afterwards (state sent, or complained: a complaint proves the mail
// arrived). The delivery log stores each reader's topic combination (topic_key: "all", "none" or
// the sorted slugs joined by ","), so one grouped query gives every
// combination's size and the selection rule of rendering is applied per
// combination, not per reader: an article without topics goes to everyone;
// others to readers of every topic or of one of the article's topics.
func reach(ctx context.Context, q querier, r *Report) error {
	rows, err := q.QueryContext(ctx, `SELECT a.position, a.title, coalesce(group_concat(t.slug), '')
		FROM articles a LEFT JOIN article_topics at ON at.article_id = a.id LEFT JOIN topics t ON t.id = at.topic_id
		WHERE a.issue_id = ? GROUP BY a.id ORDER BY a.position`, r.Issue)
	if err != nil {
		return fmt.Errorf("articles: %w", err)
	}
	for rows.Next() {
		var a Article
		var slugs string
		if err := rows.Scan(&a.Position, &a.Title, &slugs); err != nil {
			rows.Close()
			return fmt.Errorf("articles: %w", err)
		}
		a.Topics = splitSlugs(slugs)
		r.Articles = append(r.Articles, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("articles: %w", err)
	}

	rows, err = q.QueryContext(ctx, `SELECT slug, name FROM topics WHERE list_id = ? ORDER BY slug`, r.ListID)
	if err != nil {
		return fmt.Errorf("topics: %w", err)
	}
	for rows.Next() {
		var t Topic
		if err := rows.Scan(&t.Slug, &t.Name); err != nil {
			rows.Close()
			return fmt.Errorf("topics: %w", err)
		}
		r.Topics = append(r.Topics, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("topics: %w", err)
	}

	rows, err = q.QueryContext(ctx, `SELECT topic_key, sum(state <> 'skipped'), sum(state IN ('sent', 'complained'))
		FROM deliveries WHERE issue_id = ? GROUP BY topic_key`, r.Issue)
	if err != nil {
		return fmt.Errorf("combinations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var n, delivered int
		if err := rows.Scan(&key, &n, &delivered); err != nil {
			return fmt.Errorf("combinations: %w", err)
		}
		r.Recipients += n
		r.Delivered += delivered
		all := key == "all"
		chosen := map[string]bool{}
		if !all && key != "none" {
			for _, s := range strings.Split(key, ",") {
				chosen[s] = true
			}
		}
		for i := range r.Articles {
			if all || len(r.Articles[i].Topics) == 0 || anyOf(r.Articles[i].Topics, chosen) {
				r.Articles[i].Recipients += n
			}
		}
		for i := range r.Topics {
			if all || chosen[r.Topics[i].Slug] {
				r.Topics[i].Recipients += n
			}
		}
	}
	return rows.Err()
}

func splitSlugs(s string) []string {
	if s == "" {
		return []string{}
	}
	out := strings.Split(s, ",")
	sort.Strings(out)
	return out
}

func anyOf(slugs []string, set map[string]bool) bool {
	for _, s := range slugs {
		if set[s] {
			return true
		}
	}
	return false
}
