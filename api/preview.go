package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/ops"
)

// previewJSON is the mail exactly as one reader (or topic set) gets it.
type previewJSON struct {
	Subject  string   `json:"subject"`
	HTML     string   `json:"html"`
	Text     string   `json:"text"`
	Email    *string  `json:"email"`
	Status   *string  `json:"status"`
	Topics   []string `json:"topics"`
	Articles []int    `json:"articles"`
}

// preview renders the issue for ?email= or ?topics= (exactly one).
func (s *server) preview(r *http.Request, a tidings.Actor) (*ops.Preview, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	email, topics := strings.TrimSpace(q.Get("email")), splitList(q.Get("topics"))
	switch {
	case email != "" && q.Has("topics"):
		return nil, invalid("topics", "give email or topics, not both")
	case email == "" && len(topics) == 0:
		return nil, invalid("email", "required: a reader's address, or topics=a,b for a topic set")
	}
	return s.ops.Preview(r.Context(), a, id, ops.PreviewFor{Email: email, Topics: topics})
}

// getPreview renders the issue as ?email=E would get it, or as a reader of
// ?topics=a,b (all = every topic); exactly one of the two.
func getPreview(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	p, err := s.preview(r, a)
	if err != nil {
		return err
	}
	out := previewJSON{Subject: p.Subject, HTML: p.HTML, Text: p.Text, Topics: orEmpty(p.Topics), Articles: orEmpty(p.Articles)}
	if p.Email != "" {
		e, st := p.Email, string(p.Status)
		out.Email, out.Status = &e, &st
	}
	return writeJSON(w, http.StatusOK, out)
}

// getPreviewEML answers the same mail as a whole message (message/rfc822),
// headers included, to open in a mail program.
func getPreviewEML(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	p, err := s.preview(r, a)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "message/rfc822")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="issue-%s.eml"`, r.PathValue("id")))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(p.EML)
	return nil
}

// testRequest is the body of POST /issues/{id}/test.
type testRequest struct {
	To []string `json:"to"`
	As string   `json:"as"`
}

// postTest sends a marked test copy to each address of to, composed as the
// reader as would get it ("" = a reader of every topic).
func postTest(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req testRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if len(req.To) == 0 {
		return invalid("to", "required: at least one address")
	}
	if len(req.To) > 10 {
		return invalid("to", "%d addresses: at most 10 test copies at once", len(req.To))
	}
	for _, t := range req.To {
		if !strings.Contains(t, "@") {
			return invalid("to", "%q is not an email address", t)
		}
	}
	ids, err := s.ops.SendTest(r.Context(), a, id, req.To, strings.TrimSpace(req.As))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"to": req.To, "message_ids": orEmpty(ids)})
}
