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

// audienceQuery groups a list's confirmed readers by topic choice: the
// all-topics flag and the sorted topic ids. One pass over the
// subscriptions_by_status index with a primary-key lookup of each
// reader's topics; Go then maps each of the (few) distinct choices to
// articles.
const audienceQuery = `SELECT sub.all_topics,
	CASE WHEN sub.all_topics THEN '' ELSE coalesce((SELECT group_concat(st.topic_id, ',' ORDER BY st.topic_id)
		FROM subscription_topics st WHERE st.list_id = sub.list_id AND st.subscriber_id = sub.subscriber_id), '') END AS ts,
	count(*)
	FROM subscriptions sub WHERE sub.list_id = ? AND sub.status = 'confirmed'
	GROUP BY 1, 2`

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
	slugs := map[string]string{}
	trows, err := s.d.R.QueryContext(ctx, `SELECT id, slug FROM topics WHERE list_id = ?`, listID)
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
		slugs[strconv.FormatInt(id, 10)] = sl
	}
	trows.Close()
	if err := trows.Err(); err != nil {
		return nil, err
	}
	rows, err := s.d.R.QueryContext(ctx, audienceQuery, listID)
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
					if sl, ok := slugs[id]; ok {
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

// receives reports whether a reader with rc's topic choice gets article
// art. It is the renderer's rule (render.Edition.Combination counts by
// it, and send skips readers it gives nothing): an article without topics
// goes to everyone, others to all-topics readers and readers sharing one
// of its topics.
func receives(art *tidings.Article, rc *tidings.Recipient) bool {
	if rc.AllTopics || len(art.Topics) == 0 {
		return true
	}
	for _, t := range art.Topics {
		if slices.Contains(rc.Topics, t) {
			return true
		}
	}
	return false
}

// topicKey is how send keys a topic choice in deliveries.topic_key.
func topicKey(rc *tidings.Recipient) string {
	switch {
	case rc.AllTopics:
		return "all"
	case len(rc.Topics) == 0:
		return "none"
	}
	return strings.Join(rc.Topics, ",")
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
			if receives(&is.Articles[i], &g.rc) {
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
		c.TopicSets = append(c.TopicSets, topicKey(&g.rc))
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
