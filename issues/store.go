package issues

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
)

var (
	// ErrNotFound: no such issue, article or list.
	ErrNotFound = errors.New("not found")
	// ErrExists: the list already has an issue with that number. The
	// message reads "issue 7 already exists in list X (id N)".
	ErrExists = errors.New("already exists")
	// ErrStatus: the issue is not in a status that allows the change.
	ErrStatus = errors.New("wrong issue status")
	// ErrUnknownTopic: a topic slug the list does not have.
	ErrUnknownTopic = errors.New("unknown topic")
)

// Store keeps issues, their articles and the articles' topics.
type Store struct {
	d *db.DB
}

// NewStore returns a store on d; the clock is d.Now.
func NewStore(d *db.DB) *Store { return &Store{d: d} }

func (s *Store) now() time.Time {
	if s.d.Now != nil {
		return s.d.Now()
	}
	return time.Now()
}

// ImportOptions change how Import treats an existing issue.
type ImportOptions struct {
	// Replace overwrites the list's issue of the same number, keeping its
	// id, when that issue is still a draft or ready (an editor re-importing
	// a corrected file). A scheduled, sending or sent issue is never replaced.
	Replace bool
}

// Import parses src (see Parse), checks the topic attributes against the
// list's topics, tags the other articles by keyword (MatchTopics) and
// stores the issue as a draft, all in one transaction: on any error
// nothing is stored. name is used in error messages ("FILE:LINE: …").
func (s *Store) Import(ctx context.Context, listID int64, name string, src []byte, topics []tidings.Topic) (*tidings.Issue, error) {
	return s.ImportWithOptions(ctx, listID, name, src, topics, ImportOptions{})
}

// ImportWithOptions is Import with options.
func (s *Store) ImportWithOptions(ctx context.Context, listID int64, name string, src []byte, topics []tidings.Topic, opt ImportOptions) (*tidings.Issue, error) {
	p, err := parse(name, src)
	if err != nil {
		return nil, err
	}
	is := p.issue
	is.ListID = listID
	ids := make(map[string]int64, len(topics))
	var slugs []string
	for _, t := range topics {
		if t.ListID != 0 && t.ListID != listID {
			return nil, fmt.Errorf("import %s: topic %q belongs to another list", name, t.Slug)
		}
		ids[t.Slug] = t.ID
		slugs = append(slugs, t.Slug)
	}
	for i := range is.Articles {
		a := &is.Articles[i]
		if a.TaggedBy == tidings.TaggedByAttribute {
			for _, sl := range a.Topics {
				if _, ok := ids[sl]; !ok {
					known := "the list has no topics yet"
					if len(slugs) > 0 {
						known = "known: " + strings.Join(slugs, ", ")
					}
					return nil, perr(name, p.lines[i], "unknown topic %q (%s)", sl, known)
				}
			}
			a.Topics = sortSlugs(a.Topics, topics)
			continue
		}
		a.Topics = MatchTopics(*a, topics)
	}
	now := s.now()
	err = s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		var listSlug string
		if err := tx.QueryRowContext(ctx, "SELECT slug FROM lists WHERE id = ?", listID).Scan(&listSlug); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("list %d: %w", listID, ErrNotFound)
			}
			return err
		}
		var oldID int64
		var oldStatus tidings.IssueStatus
		err := tx.QueryRowContext(ctx, "SELECT id, status FROM issues WHERE list_id = ? AND number = ?", listID, is.Number).Scan(&oldID, &oldStatus)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			res, err := tx.ExecContext(ctx, `INSERT INTO issues (list_id, number, title, subject, preheader, date, masthead, intro, footer, source, status, created_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'draft', ?)`,
				listID, is.Number, is.Title, is.Subject, is.Preheader, is.Date, is.Masthead, is.Intro, is.Footer, is.Source, db.Unix(now))
			if err != nil {
				return err
			}
			if is.ID, err = res.LastInsertId(); err != nil {
				return err
			}
			is.Status, is.CreatedAt = tidings.IssueDraft, db.Time(db.Unix(now))
		case err != nil:
			return err
		case !opt.Replace:
			return fmt.Errorf("issue %d %w in list %s (id %d)", is.Number, ErrExists, listSlug, oldID)
		case oldStatus != tidings.IssueDraft && oldStatus != tidings.IssueReady:
			return fmt.Errorf("issue %d of list %s (id %d) is %s and cannot be replaced: %w", is.Number, listSlug, oldID, oldStatus, ErrStatus)
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE issues SET title = ?, subject = ?, preheader = ?, date = ?, masthead = ?, intro = ?, footer = ?, source = ?
				WHERE id = ?`, is.Title, is.Subject, is.Preheader, is.Date, is.Masthead, is.Intro, is.Footer, is.Source, oldID); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM articles WHERE issue_id = ?", oldID); err != nil {
				return err
			}
			var created int64
			if err := tx.QueryRowContext(ctx, "SELECT created_at FROM issues WHERE id = ?", oldID).Scan(&created); err != nil {
				return err
			}
			is.ID, is.Status, is.CreatedAt = oldID, oldStatus, db.Time(created)
		}
		art, err := tx.PrepareContext(ctx, "INSERT INTO articles (issue_id, position, title, body, tagged_by) VALUES (?, ?, ?, ?, ?)")
		if err != nil {
			return err
		}
		defer art.Close()
		at, err := tx.PrepareContext(ctx, "INSERT INTO article_topics (article_id, topic_id) VALUES (?, ?)")
		if err != nil {
			return err
		}
		defer at.Close()
		for i := range is.Articles {
			a := &is.Articles[i]
			res, err := art.ExecContext(ctx, is.ID, a.Position, a.Title, a.Body, string(a.TaggedBy))
			if err != nil {
				return err
			}
			if a.ID, err = res.LastInsertId(); err != nil {
				return err
			}
			a.IssueID = is.ID
			for _, sl := range a.Topics {
				if _, err := at.ExecContext(ctx, a.ID, ids[sl]); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("import %s: %w", name, err)
	}
	return is, nil
}

// sortSlugs orders slugs like the list's topics (by id), the order Get
// returns them in.
func sortSlugs(slugs []string, topics []tidings.Topic) []string {
	order := make(map[string]int64, len(topics))
	for _, t := range topics {
		order[t.Slug] = t.ID
	}
	out := slices.Clone(slugs)
	slices.SortStableFunc(out, func(a, b string) int {
		return cmp.Or(cmp.Compare(order[a], order[b]), strings.Compare(a, b))
	})
	return out
}

const issueCols = `id, list_id, number, title, subject, preheader, date, masthead, intro, footer, source, status, created_at, COALESCE(sent_at, 0)`

type rowScanner interface{ Scan(...any) error }

func scanIssue(r rowScanner) (*tidings.Issue, error) {
	var is tidings.Issue
	var created, sent int64
	var status string
	if err := r.Scan(&is.ID, &is.ListID, &is.Number, &is.Title, &is.Subject, &is.Preheader, &is.Date,
		&is.Masthead, &is.Intro, &is.Footer, &is.Source, &status, &created, &sent); err != nil {
		return nil, err
	}
	is.Status = tidings.IssueStatus(status)
	is.CreatedAt, is.SentAt = db.Time(created), db.Time(sent)
	return &is, nil
}

// Get is one issue with its articles in order, each with its topic slugs
// (in topic-id order) and where they came from.
func (s *Store) Get(ctx context.Context, id int64) (*tidings.Issue, error) {
	is, err := scanIssue(s.d.R.QueryRowContext(ctx, "SELECT "+issueCols+" FROM issues WHERE id = ?", id))
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("issue %d: %w", id, ErrNotFound)
		}
		return nil, fmt.Errorf("issue %d: %w", id, err)
	}
	arts, err := s.articles(ctx, "a.issue_id = ?", id, true)
	if err != nil {
		return nil, fmt.Errorf("issue %d: %w", id, err)
	}
	is.Articles = arts[id]
	return is, nil
}

// ByNumber is the list's issue with that number.
func (s *Store) ByNumber(ctx context.Context, listID int64, number int) (*tidings.Issue, error) {
	var id int64
	err := s.d.R.QueryRowContext(ctx, "SELECT id FROM issues WHERE list_id = ? AND number = ?", listID, number).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("issue number %d: %w", number, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("issue number %d: %w", number, err)
	}
	return s.Get(ctx, id)
}

// List is the list's issues by number. Each carries its articles with
// title, position, topics and TaggedBy but no Body and no Source, so that
// len(Articles) is the article count without loading whole issues.
func (s *Store) List(ctx context.Context, listID int64) ([]tidings.Issue, error) {
	rows, err := s.d.R.QueryContext(ctx, "SELECT "+strings.Replace(issueCols, "source", "''", 1)+" FROM issues WHERE list_id = ? ORDER BY number", listID)
	if err != nil {
		return nil, fmt.Errorf("issues: %w", err)
	}
	defer rows.Close()
	out := []tidings.Issue{}
	for rows.Next() {
		is, err := scanIssue(rows)
		if err != nil {
			return nil, fmt.Errorf("issues: %w", err)
		}
		out = append(out, *is)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("issues: %w", err)
	}
	rows.Close()
	arts, err := s.articles(ctx, "a.issue_id IN (SELECT id FROM issues WHERE list_id = ?)", listID, false)
	if err != nil {
		return nil, fmt.Errorf("issues: %w", err)
	}
	for i := range out {
		out[i].Articles = arts[out[i].ID]
	}
	return out, nil
}

// articles loads articles (and their topics) matching where, by issue.
func (s *Store) articles(ctx context.Context, where string, arg int64, bodies bool) (map[int64][]tidings.Article, error) {
	body := "''"
	if bodies {
		body = "a.body"
	}
	rows, err := s.d.R.QueryContext(ctx, "SELECT a.id, a.issue_id, a.position, a.title, "+body+", a.tagged_by FROM articles a WHERE "+where+" ORDER BY a.issue_id, a.position", arg)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64][]tidings.Article{}
	index := map[int64][2]int64{} // article id → issue id, index
	for rows.Next() {
		var a tidings.Article
		var by string
		if err := rows.Scan(&a.ID, &a.IssueID, &a.Position, &a.Title, &a.Body, &by); err != nil {
			return nil, err
		}
		a.TaggedBy = tidings.TaggedBy(by)
		index[a.ID] = [2]int64{a.IssueID, int64(len(out[a.IssueID]))}
		out[a.IssueID] = append(out[a.IssueID], a)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	trows, err := s.d.R.QueryContext(ctx, "SELECT at.article_id, t.slug FROM article_topics at JOIN topics t ON t.id = at.topic_id JOIN articles a ON a.id = at.article_id WHERE "+where+" ORDER BY at.article_id, t.id", arg)
	if err != nil {
		return nil, err
	}
	defer trows.Close()
	for trows.Next() {
		var aid int64
		var slug string
		if err := trows.Scan(&aid, &slug); err != nil {
			return nil, err
		}
		if ix, ok := index[aid]; ok {
			a := &out[ix[0]][ix[1]]
			a.Topics = append(a.Topics, slug)
		}
	}
	return out, trows.Err()
}

// issueForUpdate reads an issue's list and status inside a transaction and
// refuses issues whose recipients' copies are being or were made.
func issueForUpdate(ctx context.Context, tx *sql.Tx, id int64, what string) (listID int64, err error) {
	var status string
	if err := tx.QueryRowContext(ctx, "SELECT list_id, status FROM issues WHERE id = ?", id).Scan(&listID, &status); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("issue %d: %w", id, ErrNotFound)
		}
		return 0, err
	}
	if st := tidings.IssueStatus(status); st == tidings.IssueSending || st == tidings.IssueSent {
		return 0, fmt.Errorf("issue %d is %s: cannot %s: %w", id, st, what, ErrStatus)
	}
	return listID, nil
}

// Tag sets an article's topics by hand (TaggedBy hand): keyword retagging
// leaves it alone from then on. No slugs means no topic, i.e. every reader
// gets the article. Unknown slugs or positions are errors; an issue being
// sent or already sent cannot change.
func (s *Store) Tag(ctx context.Context, issueID int64, position int, slugs []string) error {
	err := s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		listID, err := issueForUpdate(ctx, tx, issueID, "change topics")
		if err != nil {
			return err
		}
		var artID int64
		if err := tx.QueryRowContext(ctx, "SELECT id FROM articles WHERE issue_id = ? AND position = ?", issueID, position).Scan(&artID); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				var n int
				tx.QueryRowContext(ctx, "SELECT count(*) FROM articles WHERE issue_id = ?", issueID).Scan(&n)
				return fmt.Errorf("issue %d has no article %d (it has %d): %w", issueID, position, n, ErrNotFound)
			}
			return err
		}
		ids, known, err := topicIDs(ctx, tx, listID)
		if err != nil {
			return err
		}
		var topicIDs []int64
		for _, sl := range slugs {
			sl = strings.ToLower(strings.TrimSpace(sl))
			if sl == "" {
				continue
			}
			id, ok := ids[sl]
			if !ok {
				return fmt.Errorf("topic %q (known: %s): %w", sl, strings.Join(known, ", "), ErrUnknownTopic)
			}
			if !slices.Contains(topicIDs, id) {
				topicIDs = append(topicIDs, id)
			}
		}
		return setTopics(ctx, tx, artID, topicIDs, tidings.TaggedByHand)
	})
	if err != nil {
		return fmt.Errorf("tag issue %d article %d: %w", issueID, position, err)
	}
	return nil
}

func topicIDs(ctx context.Context, tx *sql.Tx, listID int64) (map[string]int64, []string, error) {
	rows, err := tx.QueryContext(ctx, "SELECT id, slug FROM topics WHERE list_id = ? ORDER BY id", listID)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	ids := map[string]int64{}
	var slugs []string
	for rows.Next() {
		var id int64
		var sl string
		if err := rows.Scan(&id, &sl); err != nil {
			return nil, nil, err
		}
		ids[sl] = id
		slugs = append(slugs, sl)
	}
	return ids, slugs, rows.Err()
}

func setTopics(ctx context.Context, tx *sql.Tx, artID int64, topicIDs []int64, by tidings.TaggedBy) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM article_topics WHERE article_id = ?", artID); err != nil {
		return err
	}
	for _, id := range topicIDs {
		if _, err := tx.ExecContext(ctx, "INSERT INTO article_topics (article_id, topic_id) VALUES (?, ?)", artID, id); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, "UPDATE articles SET tagged_by = ? WHERE id = ?", string(by), artID)
	return err
}

// Retag re-applies topic keywords (after `topic set --keywords`) to the
// articles whose topics came from keywords; articles tagged by hand or by
// a heading attribute keep theirs. It returns how many articles changed.
func (s *Store) Retag(ctx context.Context, issueID int64, topics []tidings.Topic) (changed int, err error) {
	err = s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		listID, err := issueForUpdate(ctx, tx, issueID, "retag")
		if err != nil {
			return err
		}
		for _, t := range topics {
			if t.ListID != 0 && t.ListID != listID {
				return fmt.Errorf("topic %q belongs to another list", t.Slug)
			}
		}
		type art struct {
			id  int64
			a   tidings.Article
			cur []int64
		}
		var arts []art
		rows, err := tx.QueryContext(ctx, "SELECT id, title, body FROM articles WHERE issue_id = ? AND tagged_by = 'keywords' ORDER BY position", issueID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var x art
			if err := rows.Scan(&x.id, &x.a.Title, &x.a.Body); err != nil {
				rows.Close()
				return err
			}
			arts = append(arts, x)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		bySlug := map[string]int64{}
		for _, t := range topics {
			bySlug[t.Slug] = t.ID
		}
		for _, x := range arts {
			cur, err := currentTopics(ctx, tx, x.id)
			if err != nil {
				return err
			}
			var want []int64
			for _, sl := range MatchTopics(x.a, topics) {
				want = append(want, bySlug[sl])
			}
			slices.Sort(want)
			if slices.Equal(cur, want) {
				continue
			}
			if err := setTopics(ctx, tx, x.id, want, tidings.TaggedByKeywords); err != nil {
				return err
			}
			changed++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("retag issue %d: %w", issueID, err)
	}
	return changed, nil
}

func currentTopics(ctx context.Context, tx *sql.Tx, artID int64) ([]int64, error) {
	rows, err := tx.QueryContext(ctx, "SELECT topic_id FROM article_topics WHERE article_id = ? ORDER BY topic_id", artID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// SetStatus moves an issue to status to, but only from one of the given
// statuses (any, when none is given): the check and the change are one
// statement, so two processes cannot both move the same issue. A current
// status not in from is ErrStatus, naming it.
func (s *Store) SetStatus(ctx context.Context, id int64, to tidings.IssueStatus, from ...tidings.IssueStatus) error {
	q := "UPDATE issues SET status = ? WHERE id = ?"
	args := []any{string(to), id}
	if len(from) > 0 {
		q += " AND status IN (?" + strings.Repeat(", ?", len(from)-1) + ")"
		for _, f := range from {
			args = append(args, string(f))
		}
	}
	return s.update(ctx, id, to, from, q, args...)
}

// MarkSent records that the issue went out at at.
func (s *Store) MarkSent(ctx context.Context, id int64, at time.Time) error {
	return s.update(ctx, id, tidings.IssueSent, nil, "UPDATE issues SET status = 'sent', sent_at = ? WHERE id = ?", db.Unix(at), id)
}

func (s *Store) update(ctx context.Context, id int64, to tidings.IssueStatus, from []tidings.IssueStatus, q string, args ...any) error {
	res, err := s.d.W.ExecContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("issue %d: set status %s: %w", id, to, err)
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return err
	}
	var cur string
	if err := s.d.W.QueryRowContext(ctx, "SELECT status FROM issues WHERE id = ?", id).Scan(&cur); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("issue %d: %w", id, ErrNotFound)
		}
		return fmt.Errorf("issue %d: %w", id, err)
	}
	want := make([]string, len(from))
	for i, f := range from {
		want[i] = string(f)
	}
	return fmt.Errorf("issue %d is %s, not %s: cannot make it %s: %w", id, cur, strings.Join(want, " or "), to, ErrStatus)
}
