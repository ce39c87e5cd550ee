package ops

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/issues"
)

// Audience is who gets what of an issue as tagged now; it agrees exactly
// with what send will do.
type Audience struct {
	IssueID      int64
	Total        int // confirmed readers of the list
	Skipped      int // confirmed readers whose topics select no article
	Articles     []ArticleAudience
	Combinations []Combination // most subscribers first; skipped readers are in none
}

// ArticleAudience is how many confirmed readers get one article.
type ArticleAudience struct {
	Position   int
	Recipients int
}

// Combination is one distinct set of articles and the readers who get it.
type Combination struct {
	// Topics are the slugs of the readers' topic choices that select these
	// articles (their union), "all" first when all-topics readers are
	// among them; ["all"] for all-topics readers alone.
	Topics []string
	// TopicSets are those choices one by one, each as send keys it in the
	// delivery log: "all", "none" or sorted slugs joined by ",".
	TopicSets   []string
	Articles    []int // positions
	Subscribers int
}

// byTopicSetQuery groups a list's confirmed readers by topic choice: the
// all-topics flag and the sorted topic ids. It is the plain form of the
// count, used for lists with more topics than a mask has bits; the masked
// form below reads less.
const byTopicSetQuery = `SELECT sub.all_topics,
	CASE WHEN sub.all_topics THEN '' ELSE coalesce((SELECT group_concat(st.topic_id, ',' ORDER BY st.topic_id)
		FROM subscription_topics st WHERE st.list_id = sub.list_id AND st.subscriber_id = sub.subscriber_id), '') END AS ts,
	count(*)
	FROM subscriptions sub WHERE sub.list_id = ? AND sub.status = 'confirmed'
	GROUP BY 1, 2`

// maxMaskTopics is how many topics fit the masked count's bit set.
const maxMaskTopics = 62

// Audience by masks, in SQL: with each topic a bit, a reader's topic set
// is the sum of its rows' bits. Checking every reader's status while
// grouping subscription_topics costs a seek per row, so the count groups
// every reader of the list and subtracts the few who should not count:
// readers who are not confirmed, and all-topics readers who also have
// topic rows (their choice is "all"). Readers with no rows and not
// all-topics chose no topic.
const (
	maskAllQuery = `SELECT m, count(*) FROM (SELECT sum(%[1]s) AS m FROM subscription_topics st
		WHERE st.list_id = ?1 GROUP BY st.subscriber_id) GROUP BY m`
	maskOfReaders = `SELECT m, count(*) FROM (SELECT (SELECT sum(%[1]s) FROM subscription_topics st
		WHERE st.list_id = sub.list_id AND st.subscriber_id = sub.subscriber_id) AS m
		FROM subscriptions sub INDEXED BY %[2]s WHERE %[3]s) WHERE m IS NOT NULL GROUP BY m`
	notConfirmed = `sub.list_id = ?1 AND sub.status IN ('pending', 'unsubscribed', 'bounced', 'blocked')`
	allConfirmed = `sub.list_id = ?1 AND sub.status = 'confirmed' AND sub.all_topics`
)

// topicGroup is the readers sharing one topic choice.
type topicGroup struct {
	rc tidings.Recipient // AllTopics, Topics (slugs) only
	n  int
}

// Audience counts who gets what, aggregated by topic set in SQL.
func (s *Service) Audience(ctx context.Context, a tidings.Actor, issueID int64) (*Audience, error) {
	listID, err := s.issueListID(ctx, a, issueID, PermView)
	if err != nil {
		return nil, err
	}
	is, err := issues.NewStore(s.d).Get(ctx, issueID)
	if err != nil {
		return nil, storeErr(err, "")
	}
	groups, err := s.topicGroups(ctx, listID)
	if err != nil {
		return nil, fmt.Errorf("audience of issue %d: %w", issueID, err)
	}
	return audienceOf(is, groups)
}

// topicGroups reads the list's confirmed readers grouped by topic choice,
// with topic ids turned into slugs.
func (s *Service) topicGroups(ctx context.Context, listID int64) ([]topicGroup, error) {
	var ids []int64
	slugs := map[int64]string{}
	trows, err := s.d.R.QueryContext(ctx, `SELECT id, slug FROM topics WHERE list_id = ? ORDER BY id`, listID)
	if err != nil {
		return nil, err
	}
	for trows.Next() {
		var id int64
		var sl string
		if err := trows.Scan(&id, &sl); err != nil {
			trows.Close()
			return nil, err
		}
		ids = append(ids, id)
		slugs[id] = sl
	}
	trows.Close()
	if err := trows.Err(); err != nil {
		return nil, err
	}
	if len(ids) > maxMaskTopics {
		return s.topicGroupsPlain(ctx, listID, slugs)
	}
	return s.topicGroupsMasked(ctx, listID, ids, slugs)
}

func (s *Service) topicGroupsMasked(ctx context.Context, listID int64, ids []int64, slugs map[int64]string) ([]topicGroup, error) {
	var bit strings.Builder
	bit.WriteString("CASE st.topic_id")
	for i, id := range ids {
		fmt.Fprintf(&bit, " WHEN %d THEN %d", id, int64(1)<<i)
	}
	bit.WriteString(" ELSE 0 END")
	counts := func(q string, sign int, into map[int64]int) error {
		rows, err := s.d.R.QueryContext(ctx, q, listID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var m int64
			var n int
			if err := rows.Scan(&m, &n); err != nil {
				return err
			}
			into[m] += sign * n
		}
		return rows.Err()
	}
	var total, all int
	if err := s.d.R.QueryRowContext(ctx, `SELECT count(*) FROM subscriptions INDEXED BY subscriptions_by_status
		WHERE list_id = ? AND status = 'confirmed'`, listID).Scan(&total); err != nil {
		return nil, err
	}
	if err := s.d.R.QueryRowContext(ctx, `SELECT count(*) FROM subscriptions INDEXED BY subscriptions_all_topics
		WHERE list_id = ? AND status = 'confirmed' AND all_topics`, listID).Scan(&all); err != nil {
		return nil, err
	}
	masks := map[int64]int{}
	for _, q := range []struct {
		sql  string
		sign int
	}{
		{fmt.Sprintf(maskAllQuery, bit.String()), 1},
		{fmt.Sprintf(maskOfReaders, bit.String(), "subscriptions_by_status", notConfirmed), -1},
		{fmt.Sprintf(maskOfReaders, bit.String(), "subscriptions_all_topics", allConfirmed), -1},
	} {
		if err := counts(q.sql, q.sign, masks); err != nil {
			return nil, err
		}
	}
	var out []topicGroup
	if all > 0 {
		out = append(out, topicGroup{rc: tidings.Recipient{AllTopics: true}, n: all})
	}
	none := total - all
	for m, n := range masks {
		if n == 0 {
			continue
		}
		g := topicGroup{rc: tidings.Recipient{Topics: []string{}}, n: n}
		for i, id := range ids {
			if m&(int64(1)<<i) != 0 {
				g.rc.Topics = append(g.rc.Topics, slugs[id])
			}
		}
		slices.Sort(g.rc.Topics)
		if len(g.rc.Topics) == 0 {
			continue // rows of topics no longer on the list: counted as none
		}
		none -= n
		out = append(out, g)
	}
	if none > 0 {
		out = append(out, topicGroup{rc: tidings.Recipient{Topics: []string{}}, n: none})
	}
	if none < 0 {
		return nil, fmt.Errorf("audience: inconsistent counts (%d readers without topics)", none)
	}
	return out, nil
}

func (s *Service) topicGroupsPlain(ctx context.Context, listID int64, slugs map[int64]string) ([]topicGroup, error) {
	rows, err := s.d.R.QueryContext(ctx, byTopicSetQuery, listID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []topicGroup
	for rows.Next() {
		var g topicGroup
		var ids string
		if err := rows.Scan(&g.rc.AllTopics, &ids, &g.n); err != nil {
			return nil, err
		}
		if !g.rc.AllTopics {
			g.rc.Topics = []string{}
			if ids != "" {
				for _, id := range strings.Split(ids, ",") {
					n, _ := strconv.ParseInt(id, 10, 64)
					if sl, ok := slugs[n]; ok {
						g.rc.Topics = append(g.rc.Topics, sl)
					}
				}
			}
			slices.Sort(g.rc.Topics)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

func audienceOf(is *tidings.Issue, groups []topicGroup) (*Audience, error) {
	au := &Audience{IssueID: is.ID, Articles: make([]ArticleAudience, len(is.Articles)), Combinations: []Combination{}}
	for i, art := range is.Articles {
		au.Articles[i].Position = art.Position
	}
	byArts := map[string]*Combination{}
	for _, g := range groups {
		au.Total += g.n
		var positions []int
		for i := range is.Articles {
			if g.rc.Receives(is.Articles[i].Topics) {
				positions = append(positions, is.Articles[i].Position)
				au.Articles[i].Recipients += g.n
			}
		}
		if len(positions) == 0 {
			au.Skipped += g.n
			continue
		}
		var kb strings.Builder
		for _, p := range positions {
			kb.WriteString(strconv.Itoa(p))
			kb.WriteByte(',')
		}
		c := byArts[kb.String()]
		if c == nil {
			c = &Combination{Articles: positions}
			byArts[kb.String()] = c
		}
		c.Subscribers += g.n
		c.TopicSets = append(c.TopicSets, g.rc.TopicKey())
	}
	for _, c := range byArts {
		sort.Strings(c.TopicSets)
		all := false
		var union []string
		for _, k := range c.TopicSets {
			switch k {
			case "all":
				all = true
			case "none":
			default:
				union = append(union, strings.Split(k, ",")...)
			}
		}
		slices.Sort(union)
		union = slices.Compact(union)
		if all {
			union = append([]string{"all"}, union...)
		}
		if union == nil {
			union = []string{}
		}
		c.Topics = union
		au.Combinations = append(au.Combinations, *c)
	}
	sort.Slice(au.Combinations, func(i, j int) bool {
		ci, cj := au.Combinations[i], au.Combinations[j]
		if ci.Subscribers != cj.Subscribers {
			return ci.Subscribers > cj.Subscribers
		}
		return slices.Compare(ci.Articles, cj.Articles) < 0
	})
	return au, nil
}
