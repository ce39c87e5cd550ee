package track

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
)

// Link is one tracked link of an issue: the article's position, the
// link's 1-based index in the article, and its target.
type Link struct {
	Position int
	Link     int
	URL      string
}

// Plan is what rendering decided for an issue's tracking: its links and
// the topics behind the bits of a topic set (bit i is Topics[i]).
type Plan struct {
	Issue  int64
	Links  []Link
	Topics []int64
}

// Register stores an issue's links and topic bits before its mail goes
// out (and before a preview), so the redirect can find every target. The
// plan of the latest preparation replaces an earlier one: a draft's links
// may change between a preview and the send; a sent issue's do not, so
// re-preparing it (a resumed send) writes the same rows.
func Register(ctx context.Context, d *db.DB, p Plan) error {
	if p.Issue == 0 || (len(p.Links) == 0 && len(p.Topics) == 0) {
		return nil
	}
	err := d.WriteTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{`DELETE FROM track_links WHERE issue_id = ?`, `DELETE FROM track_topics WHERE issue_id = ?`} {
			if _, err := tx.ExecContext(ctx, q, p.Issue); err != nil {
				return err
			}
		}
		for _, l := range p.Links {
			if _, err := tx.ExecContext(ctx, `INSERT INTO track_links (issue_id, position, link, url) VALUES (?, ?, ?, ?)`,
				p.Issue, l.Position, l.Link, l.URL); err != nil {
				return err
			}
		}
		for bit, id := range p.Topics {
			if _, err := tx.ExecContext(ctx, `INSERT INTO track_topics (issue_id, bit, topic_id) VALUES (?, ?, ?)`,
				p.Issue, bit, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("track: register issue %d: %w", p.Issue, err)
	}
	return nil
}

type countKey struct {
	issue          int64
	kind           string
	position, link int
	topicSet       uint64
	verdict        string
	reason         string
	hour           int64
}

// write counts settled events: one upsert per distinct counter, and a
// per-person row for each human event of a kind its list tracks
// individually.
// A list whose kind is off (now) gets nothing written.
func (t *Tracker) write(ctx context.Context, evs []*Event) error {
	if len(evs) == 0 {
		return nil
	}
	t.wmu.Lock()
	defer t.wmu.Unlock()
	counts := map[countKey]int{}
	type person struct {
		ev   *Event
		kind string
	}
	var people []person
	type metricKey struct {
		list, kind string
		machine    bool
	}
	metrics := map[metricKey]int{}
	for _, e := range evs {
		info, err := t.issues.get(ctx, e.Issue)
		if err != nil {
			return err
		}
		kind, mode := "click", info.clicks
		if e.Kind == Open {
			kind, mode = "open", info.opens
		}
		if mode == tidings.TrackOff || mode == "" {
			continue
		}
		at := e.At.Unix()
		counts[countKey{e.Issue, kind, e.Position, e.Link, e.TopicSet, e.Verdict.Label(), e.Verdict.Reason, at - at%3600}]++
		// only a person's own (human) events are kept about them: a
		// scanner's fetch of their links is not their activity, is in the
		// counters, and would be data about them that no export shows
		if mode == tidings.TrackIndividual && e.Subscriber > 0 && !e.Verdict.Machine {
			people = append(people, person{e, kind})
		}
		metrics[metricKey{info.list, kind, e.Verdict.Machine}]++
	}
	if len(counts) == 0 {
		return nil
	}
	err := t.cfg.DB.WriteTx(ctx, func(tx *sql.Tx) error {
		up, err := tx.PrepareContext(ctx, `INSERT INTO track_counts (issue_id, kind, position, link, topic_set, verdict, reason, hour, n)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (issue_id, kind, position, link, topic_set, verdict, reason, hour) DO UPDATE SET n = n + excluded.n`)
		if err != nil {
			return err
		}
		defer up.Close()
		for k, n := range counts {
			if _, err := up.ExecContext(ctx, k.issue, k.kind, k.position, k.link, int64(k.topicSet), k.verdict, k.reason, k.hour, n); err != nil {
				return err
			}
		}
		if len(people) == 0 {
			return nil
		}
		// A person erased while their event was held has no row to
		// reference: the SELECT finds no subscriber and inserts nothing.
		ins, err := tx.PrepareContext(ctx, `INSERT INTO track_events (subscriber_id, issue_id, kind, position, link, verdict, reason, at)
			SELECT id, ?, ?, ?, ?, ?, ?, ? FROM subscribers WHERE id = ?`)
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, p := range people {
			e := p.ev
			if _, err := ins.ExecContext(ctx, e.Issue, p.kind, e.Position, e.Link, e.Verdict.Label(), e.Verdict.Reason, e.At.Unix(), e.Subscriber); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("track: write %d events: %w", len(evs), err)
	}
	for k, n := range metrics {
		t.cfg.Metrics.count(k.list, k.kind, k.machine, n)
	}
	return nil
}

// Retain deletes per-person events older than their list's activity days,
// and those of a kind the list no longer tracks per person (list set
// deletes them at once; a serve whose cached mode was a minute stale may
// still have written some). They were counted in track_counts when they
// settled, so the aggregates keep them: this is the folding the README
// speaks of. Deletes go in batches so a big backlog does not hold the
// writer for long.
func Retain(ctx context.Context, d *db.DB, now time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		err := d.WriteTx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, `DELETE FROM track_events WHERE id IN (
				SELECT e.id FROM track_events e
				JOIN issues i ON i.id = e.issue_id
				JOIN lists l ON l.id = i.list_id
				WHERE e.at < ? - l.activity_days * 86400
				   OR (e.kind = 'click' AND l.clicks <> 'individual')
				   OR (e.kind = 'open' AND l.opens <> 'individual')
				LIMIT 5000)`, now.Unix())
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("track: retention: %w", err)
		}
		total += n
		if n < 5000 {
			return total, nil
		}
	}
}

// Activity is one human event of a person, for `sub show` and the GDPR
// export.
type Activity struct {
	Issue int64     `json:"issue"`
	Kind  string    `json:"kind"`
	URL   string    `json:"url"`
	At    time.Time `json:"at"`
}

// PersonActivity is subscriber id's human clicks and opens, newest first
// (empty unless a list tracks them individually).
func PersonActivity(ctx context.Context, d *db.DB, id int64) ([]Activity, error) {
	rows, err := d.R.QueryContext(ctx, `SELECT e.issue_id, e.kind, COALESCE(l.url, ''), e.at
		FROM track_events e
		LEFT JOIN track_links l ON l.issue_id = e.issue_id AND l.position = e.position AND l.link = e.link AND e.kind = 'click'
		WHERE e.subscriber_id = ? AND e.verdict = 'human'
		ORDER BY e.at DESC, e.id DESC`, id)
	if err != nil {
		return nil, fmt.Errorf("track: activity of subscriber %d: %w", id, err)
	}
	defer rows.Close()
	out := []Activity{}
	for rows.Next() {
		var a Activity
		var at int64
		if err := rows.Scan(&a.Issue, &a.Kind, &a.URL, &at); err != nil {
			return nil, fmt.Errorf("track: activity of subscriber %d: %w", id, err)
		}
		a.At = time.Unix(at, 0).UTC()
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("track: activity of subscriber %d: %w", id, err)
	}
	return out, nil
}
