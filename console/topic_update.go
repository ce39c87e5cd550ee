package console

import (
	"net/http"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/console/form"
)

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
		if code, ok := formStatus(w, err); ok {
			h.showTopics(w, r, code, f, err)
			return
		}
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/lists/"+r.PathValue("list")+"/topics", done)
}
