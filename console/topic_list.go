package console

import (
	"net/http"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/console/form"
	"github.com/tidings/tidings/ops"
)

type topicListPage struct {
	Topics   []tidings.Topic
	Keywords string           // the "what would this tag" box
	Hits     []ops.KeywordHit // its answer
	Tried    bool
	Error    string
	Form     form.Topic
}

// topicList shows a list's topics with their readers and keywords, and
// what a set of keywords would tag in the last issues.
func (h *handler) topicList(w http.ResponseWriter, r *http.Request) {
	h.showTopics(w, r, http.StatusOK, form.Topic{}, nil)
}

func (h *handler) showTopics(w http.ResponseWriter, r *http.Request, status int, f form.Topic, ferr error) {
	a := actorOf(r)
	l, err := h.ops.List(r.Context(), a, r.PathValue("list"))
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	ts, err := h.ops.Topics(r.Context(), a, l.Slug)
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	p := topicListPage{Topics: ts, Keywords: r.URL.Query().Get("keywords"), Form: f}
	if kw := form.Keywords(p.Keywords); len(kw) > 0 {
		p.Tried = true
		if p.Hits, err = h.ops.KeywordPreview(r.Context(), a, l.Slug, kw, 10); err != nil {
			p.Error = h.formError(r, err)
		}
	}
	if ferr != nil {
		p.Error = h.formError(r, ferr)
	}
	h.render(w, r, status, "topics", view{Title: h.t(r, "topics.title"), List: l, Data: p})
}
