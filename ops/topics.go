package ops

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/issues"
	"github.com/tidings/tidings/subscribers"
)

// Topics are a list's topics in the order they were added, each with the
// number of confirmed subscribers who receive it.
func (s *Service) Topics(ctx context.Context, a tidings.Actor, listSlug string) ([]tidings.Topic, error) {
	l, err := s.resolveList(ctx, a, listSlug, PermView)
	if err != nil {
		return nil, err
	}
	return s.store().Topics(ctx, l.ID)
}

// TopicChoices are a list's topics without their subscriber counts, for
// forms and filters: counting a large list's readers per topic costs a
// scan of its subscriptions (0.4 s at a million), which a filter menu on
// every subscribers page must not pay.
func (s *Service) TopicChoices(ctx context.Context, a tidings.Actor, listSlug string) ([]tidings.Topic, error) {
	l, err := s.resolveList(ctx, a, listSlug, PermView)
	if err != nil {
		return nil, err
	}
	return s.store().PublicTopics(ctx, l.ID)
}

// AddTopic adds a topic to a list (admin); t gets its id.
func (s *Service) AddTopic(ctx context.Context, a tidings.Actor, listSlug string, t *tidings.Topic) error {
	l, err := s.resolveList(ctx, a, listSlug, PermAdmin)
	if err != nil {
		return err
	}
	if err := s.store().AddTopic(ctx, l.ID, t); err != nil {
		return mapStore(err, "slug", topicField)
	}
	return s.audit(ctx, a, auditEntry{Action: "topic.add", ObjectKind: "topic", ObjectID: t.Slug, ListID: l.ID,
		Detail: map[string]any{"name": t.Name, "keywords": t.Keywords}})
}

// UpdateTopic changes a topic (admin); fn edits a copy, validated and
// stored in one transaction.
func (s *Service) UpdateTopic(ctx context.Context, a tidings.Actor, listSlug, slug string, fn func(*tidings.Topic) error) (*tidings.Topic, error) {
	l, err := s.resolveList(ctx, a, listSlug, PermAdmin)
	if err != nil {
		return nil, err
	}
	var before tidings.Topic
	var fnErr error
	newSlug := slug
	err = s.store().UpdateTopic(ctx, l.ID, slug, func(t *tidings.Topic) error {
		before = *t
		before.Keywords = append([]string(nil), t.Keywords...)
		if fnErr = fn(t); fnErr != nil {
			return fnErr
		}
		newSlug = strings.TrimSpace(t.Slug)
		return nil
	})
	if err != nil {
		if fnErr != nil {
			return nil, fnErr
		}
		return nil, mapStore(err, "slug", topicField)
	}
	after, err := s.store().Topic(ctx, l.ID, newSlug)
	if err != nil {
		return nil, mapStore(err, "slug", nil)
	}
	detail := map[string]any{}
	if before.Slug != after.Slug {
		detail["slug"] = after.Slug
	}
	if before.Name != after.Name {
		detail["name"] = after.Name
	}
	if strings.Join(before.Keywords, ",") != strings.Join(after.Keywords, ",") {
		detail["keywords"] = after.Keywords
	}
	return after, s.audit(ctx, a, auditEntry{Action: "topic.set", ObjectKind: "topic", ObjectID: slug, ListID: l.ID, Detail: detail})
}

// DeleteTopic removes a topic (admin): readers who chose it keep their
// other topics, and articles tagged with it lose the tag.
func (s *Service) DeleteTopic(ctx context.Context, a tidings.Actor, listSlug, slug string) error {
	l, err := s.resolveList(ctx, a, listSlug, PermAdmin)
	if err != nil {
		return err
	}
	if err := s.store().DeleteTopic(ctx, l.ID, slug); err != nil {
		return mapStore(err, "slug", nil)
	}
	return s.audit(ctx, a, auditEntry{Action: "topic.rm", ObjectKind: "topic", ObjectID: slug, ListID: l.ID})
}

// KeywordHit is an article of a recent issue that keywords would tag.
type KeywordHit struct {
	IssueID  int64
	Number   int
	Position int
	Title    string
	Matched  []string // the keywords found
}

// maxPreviewIssues bounds KeywordPreview: each issue's articles are read
// and matched in memory.
const maxPreviewIssues = 100

// KeywordPreview shows what keywords would tag in the list's last issues
// (default 10, at most 100), matched exactly as import and retag match
// them (issues.MatchTopics): newest issue first, articles in order.
func (s *Service) KeywordPreview(ctx context.Context, a tidings.Actor, listSlug string, keywords []string, lastIssues int) ([]KeywordHit, error) {
	l, err := s.resolveList(ctx, a, listSlug, PermView)
	if err != nil {
		return nil, err
	}
	kws := subscribers.CleanKeywords(keywords)
	if len(kws) == 0 {
		return nil, Invalid("keywords", "no keyword given")
	}
	switch {
	case lastIssues == 0:
		lastIssues = 10
	case lastIssues < 0 || lastIssues > maxPreviewIssues:
		return nil, Invalid("last", "%d issues: want 1 to %d", lastIssues, maxPreviewIssues)
	}
	// One topic per keyword, so the match says which keywords hit.
	probes := make([]tidings.Topic, len(kws))
	for i, k := range kws {
		probes[i] = tidings.Topic{ID: int64(i + 1), Slug: fmt.Sprint(i), Keywords: []string{k}}
	}
	rows, err := s.d.R.QueryContext(ctx, `SELECT i.id, i.number, a.position, a.title, a.body
		FROM (SELECT id, number FROM issues WHERE list_id = ? ORDER BY number DESC LIMIT ?) i
		JOIN articles a ON a.issue_id = i.id
		ORDER BY i.number DESC, a.position`, l.ID, lastIssues)
	if err != nil {
		return nil, fmt.Errorf("keyword preview: %w", err)
	}
	defer rows.Close()
	out := []KeywordHit{}
	for rows.Next() {
		var h KeywordHit
		var art tidings.Article
		if err := rows.Scan(&h.IssueID, &h.Number, &h.Position, &art.Title, &art.Body); err != nil {
			return nil, fmt.Errorf("keyword preview: %w", err)
		}
		for _, slug := range issues.MatchTopics(art, probes) {
			i, _ := strconv.Atoi(slug)
			h.Matched = append(h.Matched, kws[i])
		}
		if len(h.Matched) > 0 {
			h.Title = art.Title
			out = append(out, h)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("keyword preview: %w", err)
	}
	return out, nil
}
