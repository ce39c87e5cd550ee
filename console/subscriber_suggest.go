package console

import (
	"net/http"

	"github.com/tidings/tidings/ops"
)

// subscriberSuggest is up to ten addresses matching ?q=, for the preview's
// "as a reader" box.
func (h *handler) subscriberSuggest(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	out := []string{}
	if len([]rune(q)) >= 2 {
		pg, err := h.ops.Subscribers(r.Context(), actorOf(r), r.PathValue("list"), ops.SubscriberQuery{Q: q, Limit: 10})
		if err != nil {
			h.jsonError(w, r, err)
			return
		}
		for _, row := range pg.Rows {
			out = append(out, row.Email)
		}
	} else if _, err := h.ops.List(r.Context(), actorOf(r), r.PathValue("list")); err != nil {
		h.jsonError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}
