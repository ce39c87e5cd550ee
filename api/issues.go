package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/ops"
)

// issueJSON is an issue as `issue show --json` prints it; each article
// also has its recipients as the issue is tagged now.
type issueJSON struct {
	ID        int64         `json:"id"`
	List      string        `json:"list"`
	Number    int           `json:"number"`
	Title     string        `json:"title"`
	Subject   string        `json:"subject"`
	Preheader string        `json:"preheader"`
	Date      string        `json:"date"`
	Status    string        `json:"status"`
	SentAt    *string       `json:"sent_at"`
	Articles  []articleJSON `json:"articles"`
}

// articleJSON is one article as in `issue show --json`, with recipients.
type articleJSON struct {
	Position   int      `json:"position"`
	Title      string   `json:"title"`
	Topics     []string `json:"topics"`
	TaggedBy   string   `json:"tagged_by"`
	Recipients int      `json:"recipients"`
}

// issueRowJSON is an issue as `issue ls --json` prints it.
type issueRowJSON struct {
	ID       int64  `json:"id"`
	Number   int    `json:"number"`
	Title    string `json:"title"`
	Status   string `json:"status"`
	Date     string `json:"date"`
	Articles int    `json:"articles"`
}

func toArticleJSON(ar *tidings.Article, recipients map[int]int) articleJSON {
	return articleJSON{Position: ar.Position, Title: ar.Title, Topics: orEmpty(ar.Topics),
		TaggedBy: string(ar.TaggedBy), Recipients: recipients[ar.Position]}
}

// showIssue reads an issue with its audience per article.
func (s *server) showIssue(ctx context.Context, a tidings.Actor, id int64) (*issueJSON, error) {
	d, err := s.ops.Issue(ctx, a, id)
	if err != nil {
		return nil, err
	}
	rec, err := s.recipients(ctx, a, id)
	if err != nil {
		return nil, err
	}
	is := d.Issue
	out := &issueJSON{ID: is.ID, Number: is.Number, Title: is.Title, Subject: d.Subject,
		Preheader: is.Preheader, Date: is.Date, Status: string(is.Status), SentAt: timeOrNil(is.SentAt),
		Articles: make([]articleJSON, 0, len(is.Articles))}
	if d.List != nil {
		out.List = d.List.Slug
	}
	for i := range is.Articles {
		out.Articles = append(out.Articles, toArticleJSON(&is.Articles[i], rec))
	}
	return out, nil
}

// recipients is how many confirmed readers get each article, by position.
func (s *server) recipients(ctx context.Context, a tidings.Actor, issueID int64) (map[int]int, error) {
	aud, err := s.ops.Audience(ctx, a, issueID)
	if err != nil {
		return nil, err
	}
	m := make(map[int]int, len(aud.Articles))
	for _, x := range aud.Articles {
		m[x.Position] = x.Recipients
	}
	return m, nil
}

func getIssues(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	list := r.URL.Query().Get("list")
	is, err := s.ops.Issues(r.Context(), a, list)
	if list == "" && errors.Is(err, ops.ErrInvalid) {
		// The store words this for the command line ("use --list").
		return invalid("list", "the database holds several lists: give ?list=SLUG (GET /api/v1/lists names them)")
	}
	if err != nil {
		return err
	}
	out := make([]issueRowJSON, 0, len(is))
	for _, x := range is {
		out = append(out, issueRowJSON{ID: x.ID, Number: x.Number, Title: x.Title, Status: string(x.Status), Date: x.Date, Articles: len(x.Articles)})
	}
	return writeJSON(w, http.StatusOK, out)
}

func getIssue(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	out, err := s.showIssue(r.Context(), a, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

// postIssue imports a Markdown file (the body) as a new issue of the list.
// ?replace=1 replaces an unsent issue of the same number; ?name= names the
// file in error messages.
func postIssue(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	if err := wantContentType(r, "text/markdown", "text/plain"); err != nil {
		return err
	}
	replace, err := queryBool(r, "replace")
	if err != nil {
		return err
	}
	name := r.URL.Query().Get("name")
	if name == "" {
		name = "issue.md"
	}
	src, err := readFile(w, r)
	if err != nil {
		return err
	}
	is, err := s.ops.ImportIssue(r.Context(), a, r.PathValue("list"), name, src, replace)
	if err != nil {
		return err
	}
	out, err := s.showIssue(r.Context(), a, is.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/issues/"+strconv.FormatInt(is.ID, 10))
	return writeJSON(w, http.StatusCreated, out)
}

// postRetag re-applies topic keywords to the articles not tagged by hand
// and answers the issue as it now stands.
func postRetag(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	changed, err := s.ops.Retag(r.Context(), a, id)
	if err != nil {
		return err
	}
	out, err := s.showIssue(r.Context(), a, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, struct {
		Changed int `json:"changed"`
		*issueJSON
	}{changed, out})
}

// postReady marks a draft ready for the list's recurring schedule.
func postReady(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.ops.MarkReady(r.Context(), a, id); err != nil {
		return err
	}
	out, err := s.showIssue(r.Context(), a, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}
