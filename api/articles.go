package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/ops"
)

// articleChange is the body of PATCH /issues/{id}/articles/{position}.
type articleChange struct {
	Title  *string   `json:"title"`
	Topics *[]string `json:"topics"`
}

// patchArticle changes an article's title or topics (then tagged by hand)
// and answers the article as in `issue show`, with its new recipients.
func patchArticle(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	pos, err := strconv.Atoi(r.PathValue("position"))
	if err != nil || pos < 1 {
		return invalid("position", "%q is not a positive integer", r.PathValue("position"))
	}
	var c articleChange
	if err := decodeJSON(w, r, &c); err != nil {
		return err
	}
	if c.Title == nil && c.Topics == nil {
		return invalid("body", "nothing to change: give title or topics")
	}
	ch := ops.ArticleChange{}
	if c.Title != nil {
		t := strings.TrimSpace(*c.Title)
		if t == "" {
			return invalid("title", "must not be empty")
		}
		ch.Title = &t
	}
	if c.Topics != nil {
		ts := make([]string, 0, len(*c.Topics))
		for _, t := range *c.Topics {
			if t = strings.TrimSpace(t); t == "" {
				return invalid("topics", "a topic slug is empty")
			}
			ts = append(ts, t)
		}
		ch.Topics = &ts
	}
	ar, err := s.ops.UpdateArticle(r.Context(), a, id, pos, ch)
	if err != nil {
		return err
	}
	rec, err := s.recipients(r.Context(), a, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toArticleJSON(ar, rec))
}
