package api

import (
	"net/http"
	"strings"

	"github.com/tidings/tidings"
)

// topicJSON is a topic as `topic ls --json` prints it.
type topicJSON struct {
	Slug        string   `json:"slug"`
	Name        string   `json:"name"`
	Keywords    []string `json:"keywords"`
	Subscribers int      `json:"subscribers"`
}

func toTopicJSON(t *tidings.Topic) topicJSON {
	return topicJSON{Slug: t.Slug, Name: t.Name, Keywords: orEmpty(t.Keywords), Subscribers: t.Subscribers}
}

// topicChange is the body of POST and PATCH on topics.
type topicChange struct {
	Slug     *string   `json:"slug"`
	Name     *string   `json:"name"`
	Keywords *[]string `json:"keywords"`
}

func (c *topicChange) apply(t *tidings.Topic) error {
	if c.Name != nil {
		if strings.TrimSpace(*c.Name) == "" {
			return invalid("name", "must not be empty")
		}
		t.Name = strings.TrimSpace(*c.Name)
	}
	if c.Keywords != nil {
		kw := make([]string, 0, len(*c.Keywords))
		for _, k := range *c.Keywords {
			if k = strings.TrimSpace(k); k == "" {
				return invalid("keywords", "a keyword is empty")
			}
			kw = append(kw, k)
		}
		t.Keywords = kw
	}
	return nil
}

func getTopics(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	ts, err := s.ops.Topics(r.Context(), a, r.PathValue("list"))
	if err != nil {
		return err
	}
	out := make([]topicJSON, 0, len(ts))
	for i := range ts {
		out = append(out, toTopicJSON(&ts[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

func postTopic(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	var c topicChange
	if err := decodeJSON(w, r, &c); err != nil {
		return err
	}
	if c.Slug == nil || strings.TrimSpace(*c.Slug) == "" {
		return invalid("slug", "required")
	}
	if c.Name == nil {
		return invalid("name", "required")
	}
	t := &tidings.Topic{Slug: strings.TrimSpace(*c.Slug)}
	if err := c.apply(t); err != nil {
		return err
	}
	if err := s.ops.AddTopic(r.Context(), a, r.PathValue("list"), t); err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/lists/"+r.PathValue("list")+"/topics/"+t.Slug)
	return writeJSON(w, http.StatusCreated, toTopicJSON(t))
}

func patchTopic(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	var c topicChange
	if err := decodeJSON(w, r, &c); err != nil {
		return err
	}
	if c.Slug != nil {
		return invalid("slug", "a topic's slug cannot change (readers' choices and articles name it)")
	}
	t, err := s.ops.UpdateTopic(r.Context(), a, r.PathValue("list"), r.PathValue("topic"), c.apply)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toTopicJSON(t))
}

func deleteTopic(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	if err := s.ops.DeleteTopic(r.Context(), a, r.PathValue("list"), r.PathValue("topic")); err != nil {
		return err
	}
	return noContent(w)
}

// keywordHitJSON is an article of a recent issue that keywords would tag.
type keywordHitJSON struct {
	Issue    int64    `json:"issue"`
	Number   int      `json:"number"`
	Position int      `json:"position"`
	Title    string   `json:"title"`
	Matched  []string `json:"matched"`
}

// getKeywordPreview shows what ?keywords=a,b would tag in the list's
// last ?last=N issues, before the editor saves them on a topic.
func getKeywordPreview(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	kw := splitList(r.URL.Query().Get("keywords"))
	if len(kw) == 0 {
		return invalid("keywords", "required: keywords separated by commas")
	}
	last, err := queryInt(r, "last", 10, 1, 100)
	if err != nil {
		return err
	}
	hits, err := s.ops.KeywordPreview(r.Context(), a, r.PathValue("list"), kw, last)
	if err != nil {
		return err
	}
	out := make([]keywordHitJSON, 0, len(hits))
	for _, h := range hits {
		out = append(out, keywordHitJSON{Issue: h.IssueID, Number: h.Number, Position: h.Position, Title: h.Title, Matched: orEmpty(h.Matched)})
	}
	return writeJSON(w, http.StatusOK, map[string]any{"hits": out})
}
