package console

import (
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
		if code, ok := formStatus(w, err); ok {
			h.showIssue(w, r, id, code, "article-"+strconv.Itoa(pos), err)
			return
		}
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/issues/"+itoa(id)+"#article-"+strconv.Itoa(pos), "saved")
}
