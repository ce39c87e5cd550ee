package console

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/tidings/tidings/console/form"
	"github.com/tidings/tidings/ops"
)

// articleUpdate changes one article's title or topics in place. The
// script posts topic changes as they are clicked and gets the issue's new
// audience back as JSON; without the script the form posts and the page
// comes back.
func (h *handler) articleUpdate(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r, "id")
	if !ok {
		return
	}
	pos, err := strconv.Atoi(r.PathValue("pos"))
	if err != nil || pos <= 0 {
		h.fail(w, r, http.StatusNotFound, "err.notfound", nil)
		return
	}
	f, err := form.ParseArticle(r)
	if err == nil {
		var c ops.ArticleChange
		if f.TitleChanged() {
			c.Title = &f.Title
		}
		if f.TopicsChanged() {
			t := f.Topics
			if t == nil {
				t = []string{}
			}
			c.Topics = &t
		}
		if c.Title != nil || c.Topics != nil {
			_, err = h.ops.UpdateArticle(r.Context(), actorOf(r), id, pos, c)
		}
	}
	if wantsJSON(r) {
		if err != nil {
			h.jsonError(w, r, err)
			return
		}
		h.audienceJSON(w, r)
		return
	}
	if err != nil {
		if errors.Is(err, form.ErrBad) || errors.Is(err, ops.ErrInvalid) || errors.Is(err, ops.ErrConflict) {
			code, _ := statusOf(err)
			if errors.Is(err, form.ErrBad) {
				code = http.StatusUnprocessableEntity
			}
			h.showIssue(w, r, id, code, "article-"+strconv.Itoa(pos), err)
			return
		}
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/issues/"+itoa(id)+"#article-"+strconv.Itoa(pos), "saved")
}

func (h *handler) issueRetag(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r, "id")
	if !ok {
		return
	}
	if _, err := h.ops.Retag(r.Context(), actorOf(r), id); err != nil {
		if errors.Is(err, ops.ErrInvalid) || errors.Is(err, ops.ErrConflict) {
			code, _ := statusOf(err)
			h.showIssue(w, r, id, code, "retag", err)
			return
		}
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/issues/"+itoa(id), "retagged")
}

// issueReady marks a draft ready: the list's recurring schedule sends it
// at its next run.
func (h *handler) issueReady(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r, "id")
	if !ok {
		return
	}
	if err := h.ops.MarkReady(r.Context(), actorOf(r), id); err != nil {
		if errors.Is(err, ops.ErrInvalid) || errors.Is(err, ops.ErrConflict) {
			code, _ := statusOf(err)
			h.showIssue(w, r, id, code, "schedule", err)
			return
		}
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/issues/"+itoa(id)+"#schedule", "ready")
}

// audienceJSON is the issue's audience as the script shows it live.
func (h *handler) audienceJSON(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r, "id")
	if !ok {
		return
	}
	aud, err := h.ops.Audience(r.Context(), actorOf(r), id)
	if err != nil {
		h.jsonError(w, r, err)
		return
	}
	type art struct {
		Position   int `json:"position"`
		Recipients int `json:"recipients"`
	}
	type combo struct {
		Topics      []string `json:"topics"`
		Articles    []int    `json:"articles"`
		Subscribers int      `json:"subscribers"`
	}
	out := struct {
		Total        int     `json:"total"`
		Skipped      int     `json:"skipped"`
		Recipients   int     `json:"recipients"`
		Articles     []art   `json:"articles"`
		Combinations []combo `json:"combinations"`
	}{Total: aud.Total, Skipped: aud.Skipped, Recipients: aud.Total - aud.Skipped, Articles: []art{}, Combinations: []combo{}}
	for _, x := range aud.Articles {
		out.Articles = append(out.Articles, art{x.Position, x.Recipients})
	}
	for _, c := range aud.Combinations {
		out.Combinations = append(out.Combinations, combo{c.Topics, c.Articles, c.Subscribers})
	}
	writeJSON(w, http.StatusOK, out)
}
