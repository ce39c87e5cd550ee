package console

import (
	"errors"
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

func (h *handler) topicAdd(w http.ResponseWriter, r *http.Request) {
	f, err := form.ParseTopic(r, true)
	if err == nil {
		err = h.ops.AddTopic(r.Context(), actorOf(r), r.PathValue("list"), &tidings.Topic{Slug: f.Slug, Name: f.Name, Keywords: f.Keywords})
	}
	h.afterTopicChange(w, r, f, err, "added")
}

func (h *handler) topicUpdate(w http.ResponseWriter, r *http.Request) {
	f, err := form.ParseTopic(r, false)
	if err == nil {
		_, err = h.ops.UpdateTopic(r.Context(), actorOf(r), r.PathValue("list"), r.PathValue("slug"), func(t *tidings.Topic) error {
			t.Name, t.Keywords = f.Name, f.Keywords
			return nil
		})
	}
	h.afterTopicChange(w, r, form.Topic{}, err, "saved")
}

func (h *handler) topicDelete(w http.ResponseWriter, r *http.Request) {
	err := h.ops.DeleteTopic(r.Context(), actorOf(r), r.PathValue("list"), r.PathValue("slug"))
	h.afterTopicChange(w, r, form.Topic{}, err, "deleted")
}

func (h *handler) afterTopicChange(w http.ResponseWriter, r *http.Request, f form.Topic, err error, done string) {
	if err != nil {
		if errors.Is(err, form.ErrBad) || errors.Is(err, ops.ErrInvalid) || errors.Is(err, ops.ErrConflict) {
			h.showTopics(w, r, http.StatusUnprocessableEntity, f, err)
			return
		}
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/lists/"+r.PathValue("list")+"/topics", done)
}
