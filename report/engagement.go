package report

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// TimelineHours is how far the report's chart of human clicks reaches
// after the send started.
const TimelineHours = 48

// engagement reads the tracking counters (package track writes them; see
// the "tracking" section of schema.sql). Every event is counted once in
// track_counts whatever the list's mode, so all figures but the unique
// clickers come from there and survive the erasure of a reader and the
// expiry of per-person events. The counters are read in one pass grouped
// by their primary key's prefix (no sort), which also gives the topic set
// of every human click for the topics' reader clicks.
func engagement(ctx context.Context, q querier, r *Report) error {
	bits, err := topicBits(ctx, q, r.Issue)
	if err != nil {
		return err
	}
	rows, err := q.QueryContext(ctx, `SELECT kind, position, link, topic_set, verdict, reason, sum(n) FROM track_counts
		WHERE issue_id = ? GROUP BY kind, position, link, topic_set, verdict, reason`, r.Issue)
	if err != nil {
		return fmt.Errorf("tracking counts: %w", err)
	}
	type linkKey struct{ pos, link int }
	byLink := map[linkKey]*Link{}
	bySet := map[uint64]int{} // human article clicks by topic set
	for rows.Next() {
		var kind, verdict, reason string
		var pos, link, n int
		var set uint64
		if err := rows.Scan(&kind, &pos, &link, &set, &verdict, &reason, &n); err != nil {
			rows.Close()
			return fmt.Errorf("tracking counts: %w", err)
		}
		human := verdict == "human"
		c := &r.Clicks
		if kind == "open" {
			c = &r.Opens
		}
		c.Total += n
		if human {
			c.Human += n
		} else {
			c.Machine += n
			r.MachineReasons[reason] += n
		}
		if kind != "click" || pos == 0 {
			continue // opens and the honeypot belong to no article
		}
		if human {
			bySet[set] += n
		}
		if a := r.article(pos); a != nil {
			if human {
				a.ClicksHuman += n
			} else {
				a.ClicksMachine += n
			}
		}
		l := byLink[linkKey{pos, link}]
		if l == nil {
			l = &Link{Position: pos, Index: link}
			byLink[linkKey{pos, link}] = l
		}
		if human {
			l.ClicksHuman += n
		} else {
			l.ClicksMachine += n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("tracking counts: %w", err)
	}

	// Every link of the issue, clicked or not, in article and link order.
	rows, err = q.QueryContext(ctx, `SELECT position, link, url FROM track_links WHERE issue_id = ? ORDER BY position, link`, r.Issue)
	if err != nil {
		return fmt.Errorf("tracked links: %w", err)
	}
	for rows.Next() {
		var l Link
		if err := rows.Scan(&l.Position, &l.Index, &l.URL); err != nil {
			rows.Close()
			return fmt.Errorf("tracked links: %w", err)
		}
		if c := byLink[linkKey{l.Position, l.Index}]; c != nil {
			l.ClicksHuman, l.ClicksMachine = c.ClicksHuman, c.ClicksMachine
			delete(byLink, linkKey{l.Position, l.Index})
		}
		if a := r.article(l.Position); a != nil {
			l.Recipients = a.Recipients
		}
		r.Links = append(r.Links, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("tracked links: %w", err)
	}
	for _, l := range byLink { // counted but not in track_links (should not happen): keep the figure
		r.Links = append(r.Links, *l)
	}
	sortLinks(r.Links)

	// Topics: human clicks on the articles of each topic, and human clicks
	// by readers of each topic (from the link's topic set; a reader of
	// every topic counts for every topic).
	byReaders := map[string]int{}
	for set, n := range bySet {
		for bit, slug := range bits {
			if set&(1<<uint(bit)) != 0 {
				byReaders[slug] += n
			}
		}
	}
	for i := range r.Topics {
		t := &r.Topics[i]
		t.ReaderClicksHuman = byReaders[t.Slug]
		for _, a := range r.Articles {
			for _, s := range a.Topics {
				if s == t.Slug {
					t.ClicksHuman += a.ClicksHuman
				}
			}
		}
	}
	if err := timeline(ctx, q, r); err != nil {
		return err
	}
	return uniqueClickers(ctx, q, r)
}

// topicBits maps the bits of an issue's topic sets to topic slugs, as
// they were when the issue was sent (track_topics).
func topicBits(ctx context.Context, q querier, issueID int64) (map[int]string, error) {
	bits := map[int]string{}
	rows, err := q.QueryContext(ctx, `SELECT b.bit, t.slug FROM track_topics b JOIN topics t ON t.id = b.topic_id
		WHERE b.issue_id = ?`, issueID)
	if err != nil {
		return nil, fmt.Errorf("tracked topics: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var bit int
		var slug string
		if err := rows.Scan(&bit, &slug); err != nil {
			return nil, fmt.Errorf("tracked topics: %w", err)
		}
		bits[bit] = slug
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tracked topics: %w", err)
	}
	return bits, nil
}

// timeline is human clicks per hour, TimelineHours buckets from the hour
// the send started in; empty for an issue never sent.
func timeline(ctx context.Context, q querier, r *Report) error {
	if r.SentAt.IsZero() {
		return nil
	}
	h0 := r.SentAt.Unix() / 3600 * 3600
	r.Timeline = make([]Point, TimelineHours)
	for i := range r.Timeline {
		r.Timeline[i].At = time.Unix(h0+int64(i)*3600, 0).UTC()
	}
	rows, err := q.QueryContext(ctx, `SELECT hour, sum(n) FROM track_counts
		WHERE issue_id = ? AND kind = 'click' AND verdict = 'human' AND hour >= ? AND hour < ? GROUP BY hour`,
		r.Issue, h0, h0+TimelineHours*3600)
	if err != nil {
		return fmt.Errorf("timeline: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var hour int64
		var n int
		if err := rows.Scan(&hour, &n); err != nil {
			return fmt.Errorf("timeline: %w", err)
		}
		r.Timeline[(hour-h0)/3600].Human += n
	}
	return rows.Err()
}

// uniqueClickers counts readers with at least one human click, in
// `individual` mode only (null otherwise: aggregate mode keeps no person).
// It reads the per-person events still held, so after the list's
// activity_days it can fall while the click figures stay.
func uniqueClickers(ctx context.Context, q querier, r *Report) error {
	if r.ClicksTracking != "individual" {
		return nil
	}
	var n int
	if err := q.QueryRowContext(ctx, `SELECT count(DISTINCT subscriber_id) FROM track_events
		WHERE issue_id = ? AND kind = 'click' AND verdict = 'human'`, r.Issue).Scan(&n); err != nil {
		return fmt.Errorf("unique clickers: %w", err)
	}
	r.UniqueClickers = &n
	return nil
}

func (r *Report) article(pos int) *Article {
	for i := range r.Articles {
		if r.Articles[i].Position == pos {
			return &r.Articles[i]
		}
	}
	return nil
}

func sortLinks(ls []Link) {
	slices.SortFunc(ls, func(a, b Link) int {
		if c := cmp.Compare(a.Position, b.Position); c != 0 {
			return c
		}
		return cmp.Compare(a.Index, b.Index)
	})
}

// ClickRate is the share of delivered messages that drew a person's click:
// unique human clickers per delivered message in `individual` mode, human
// clicks per delivered message otherwise (which can pass 1); -1 when the
// list does not track clicks, 0 before anything was delivered.
func (r *Report) ClickRate() float64 {
	if r.ClicksTracking == "off" {
		return -1
	}
	if r.Delivered == 0 {
		return 0
	}
	if r.UniqueClickers != nil {
		return float64(*r.UniqueClickers) / float64(r.Delivered)
	}
	return float64(r.Clicks.Human) / float64(r.Delivered)
}
