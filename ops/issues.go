package ops

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/issues"
	"github.com/tidings/tidings/render"
	"github.com/tidings/tidings/subscribers"
	"github.com/tidings/tidings/token"
)

// IssueDetail is an issue with what the front ends show beside it.
type IssueDetail struct {
	Issue  *tidings.Issue // with Articles
	List   *tidings.List
	Topics []tidings.Topic
	// Subject is the subject line as mail will carry it.
	Subject string
}

// ArticleChange changes an article in place; nil fields stay as they are.
type ArticleChange struct {
	Title  *string
	Topics *[]string // topic slugs; empty: every reader gets the article
}

// issueListID is the list of issue id, once the actor may do p there. An
// issue that does not exist is ErrNotFound for everyone; one of another
// list is ErrForbidden (its id says nothing about that list's readers).
func (s *Service) issueListID(ctx context.Context, a tidings.Actor, id int64, p Perm) (int64, error) {
	var listID int64
	err := s.d.R.QueryRowContext(ctx, `SELECT list_id FROM issues WHERE id = ?`, id).Scan(&listID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("issue %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("issue %d: %w", id, err)
	}
	if err := authorize(a, p, listID); err != nil {
		return 0, err
	}
	return listID, nil
}

// Issues are a list's issues, by number. Articles carry titles and topics
// but no bodies.
func (s *Service) Issues(ctx context.Context, a tidings.Actor, listSlug string) ([]tidings.Issue, error) {
	l, err := s.resolveList(ctx, a, listSlug, PermView)
	if err != nil {
		return nil, err
	}
	all, err := issues.NewStore(s.d).List(ctx, l.ID)
	return all, storeErr(err, "")
}

// Issue is one issue with its list and topics.
func (s *Service) Issue(ctx context.Context, a tidings.Actor, id int64) (*IssueDetail, error) {
	if _, err := s.issueListID(ctx, a, id, PermView); err != nil {
		return nil, err
	}
	is, err := issues.NewStore(s.d).Get(ctx, id)
	if err != nil {
		return nil, storeErr(err, "")
	}
	ss := subscribers.NewStore(s.d)
	l, err := ss.ListByID(ctx, is.ListID)
	if err != nil {
		return nil, storeErr(fmt.Errorf("issue %d: %w", id, err), "")
	}
	topics, err := ss.PublicTopics(ctx, l.ID)
	if err != nil {
		return nil, fmt.Errorf("issue %d: %w", id, err)
	}
	d := &IssueDetail{Issue: is, List: l, Topics: topics, Subject: is.Subject}
	// The subject as mail carries it comes from the renderer; an issue
	// that cannot render (a list without a From address) still shows.
	r := &render.Renderer{Links: s.deps.Links, Signer: token.New(make([]byte, 32)), Now: s.now}
	if ed, err := r.Prepare(l, topics, is); err == nil {
		d.Subject = ed.Subject()
	} else if d.Subject == "" {
		d.Subject = is.Title
	}
	return d, nil
}

// ImportIssue parses src (Markdown) and stores it as a new issue of the
// list; with replace, an unsent issue of the same number is replaced.
// A parse error is a FieldError on "source" whose problem starts with
// its line ("line 12: …"); the store's own error (FILE:LINE: …) is its
// message.
func (s *Service) ImportIssue(ctx context.Context, a tidings.Actor, listSlug, name string, src []byte, replace bool) (*tidings.Issue, error) {
	l, err := s.resolveList(ctx, a, listSlug, PermEdit)
	if err != nil {
		return nil, err
	}
	topics, err := subscribers.NewStore(s.d).PublicTopics(ctx, l.ID)
	if err != nil {
		return nil, err
	}
	is, err := issues.NewStore(s.d).ImportWithOptions(ctx, l.ID, name, src, topics, issues.ImportOptions{Replace: replace})
	if err != nil {
		return nil, storeErr(err, "source")
	}
	err = s.audit(ctx, a, auditEntry{Action: "issue.import", ObjectKind: "issue", ObjectID: strconv.FormatInt(is.ID, 10), ListID: l.ID,
		Detail: map[string]any{"number": is.Number, "title": is.Title, "articles": len(is.Articles), "replace": replace, "name": name}})
	return is, err
}

// UpdateArticle changes an article's title or topics (topics set by
// hand), in one transaction with its audit entry: bad input changes
// nothing. An issue being sent or already sent is ErrConflict.
func (s *Service) UpdateArticle(ctx context.Context, a tidings.Actor, issueID int64, position int, c ArticleChange) (*tidings.Article, error) {
	listID, err := s.issueListID(ctx, a, issueID, PermEdit)
	if err != nil {
		return nil, err
	}
	if position < 1 {
		return nil, Invalid("position", "position %d: want an article number (1, 2, …)", position)
	}
	var title string
	if c.Title != nil {
		title = strings.TrimSpace(*c.Title)
		switch {
		case title == "":
			return nil, Invalid("title", "the title is empty")
		case strings.ContainsAny(title, "\r\n"):
			return nil, Invalid("title", "the title must be one line")
		case utf8.RuneCountInString(title) > 500:
			return nil, Invalid("title", "the title is longer than 500 characters")
		}
	}
	if c.Title == nil && c.Topics == nil {
		return nil, Invalid("topics", "nothing to change: give a title or topics")
	}
	detail := map[string]any{"position": position}
	err = s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		var status string
		if err := tx.QueryRowContext(ctx, `SELECT status FROM issues WHERE id = ?`, issueID).Scan(&status); err != nil {
			return fmt.Errorf("issue %d: %w", issueID, err)
		}
		if st := tidings.IssueStatus(status); st == tidings.IssueSending || st == tidings.IssueSent {
			return fmt.Errorf("issue %d is %s: its articles cannot change: %w", issueID, st, ErrConflict)
		}
		var artID int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM articles WHERE issue_id = ? AND position = ?`, issueID, position).Scan(&artID)
		if errors.Is(err, sql.ErrNoRows) {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM articles WHERE issue_id = ?`, issueID).Scan(&n); err != nil {
				return err
			}
			return Invalid("position", "issue %d has no article %d (it has %d)", issueID, position, n)
		}
		if err != nil {
			return err
		}
		if c.Title != nil {
			if _, err := tx.ExecContext(ctx, `UPDATE articles SET title = ? WHERE id = ?`, title, artID); err != nil {
				return fmt.Errorf("article %d: %w", position, err)
			}
			detail["title"] = title
		}
		if c.Topics != nil {
			ids, slugs, err := topicIDsOf(ctx, tx, listID, *c.Topics)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM article_topics WHERE article_id = ?`, artID); err != nil {
				return err
			}
			for _, id := range ids {
				if _, err := tx.ExecContext(ctx, `INSERT INTO article_topics (article_id, topic_id) VALUES (?, ?)`, artID, id); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE articles SET tagged_by = 'hand' WHERE id = ?`, artID); err != nil {
				return err
			}
			detail["topics"] = slugs
		}
		return s.record(ctx, tx, a, auditEntry{Action: "article.update", ObjectKind: "article",
			ObjectID: fmt.Sprintf("%d/%d", issueID, position), ListID: listID, Detail: detail})
	})
	if err != nil {
		return nil, err
	}
	is, err := issues.NewStore(s.d).Get(ctx, issueID)
	if err != nil {
		return nil, storeErr(err, "")
	}
	for i := range is.Articles {
		if is.Articles[i].Position == position {
			return &is.Articles[i], nil
		}
	}
	return nil, fmt.Errorf("issue %d article %d: %w", issueID, position, ErrNotFound)
}

// topicIDsOf resolves topic slugs of list listID (case and spaces
// ignored, duplicates dropped); an unknown one is a FieldError on
// "topics" naming the known ones.
func topicIDsOf(ctx context.Context, tx *sql.Tx, listID int64, slugs []string) ([]int64, []string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, slug FROM topics WHERE list_id = ? ORDER BY id`, listID)
	if err != nil {
		return nil, nil, fmt.Errorf("topics: %w", err)
	}
	byslug := map[string]int64{}
	var known []string
	for rows.Next() {
		var id int64
		var sl string
		if err := rows.Scan(&id, &sl); err != nil {
			rows.Close()
			return nil, nil, err
		}
		byslug[sl] = id
		known = append(known, sl)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	var ids []int64
	out := []string{}
	for _, sl := range slugs {
		sl = strings.ToLower(strings.TrimSpace(sl))
		if sl == "" {
			continue
		}
		id, ok := byslug[sl]
		if !ok {
			return nil, nil, Invalid("topics", "unknown topic %q (known: %s)", sl, strings.Join(known, ", "))
		}
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
			out = append(out, sl)
		}
	}
	return ids, out, nil
}

// Retag re-applies topic keywords to the articles not tagged by hand or
// by a heading attribute; it returns how many changed.
func (s *Service) Retag(ctx context.Context, a tidings.Actor, issueID int64) (changed int, err error) {
	listID, err := s.issueListID(ctx, a, issueID, PermEdit)
	if err != nil {
		return 0, err
	}
	topics, err := subscribers.NewStore(s.d).PublicTopics(ctx, listID)
	if err != nil {
		return 0, err
	}
	n, err := issues.NewStore(s.d).Retag(ctx, issueID, topics)
	if err != nil {
		return 0, storeErr(err, "")
	}
	return n, s.audit(ctx, a, auditEntry{Action: "issue.retag", ObjectKind: "issue", ObjectID: strconv.FormatInt(issueID, 10),
		ListID: listID, Detail: map[string]any{"changed": n}})
}

// MarkReady marks a draft ready for the recurring schedule (a ready issue
// stays ready).
func (s *Service) MarkReady(ctx context.Context, a tidings.Actor, issueID int64) error {
	listID, err := s.issueListID(ctx, a, issueID, PermEdit)
	if err != nil {
		return err
	}
	if err := issues.NewStore(s.d).SetStatus(ctx, issueID, tidings.IssueReady, tidings.IssueDraft, tidings.IssueReady); err != nil {
		return storeErr(err, "")
	}
	return s.audit(ctx, a, auditEntry{Action: "issue.ready", ObjectKind: "issue", ObjectID: strconv.FormatInt(issueID, 10), ListID: listID})
}
