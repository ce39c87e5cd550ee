package console

import (
	"net/http"
)

// audienceJSON is the audience as the script shows it live.
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
