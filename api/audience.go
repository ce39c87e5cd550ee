package api

import (
	"net/http"

	"github.com/tidings/tidings"
)

// audienceJSON is who gets what of an issue as tagged now (CONTRACT keys).
type audienceJSON struct {
	Issue        int64              `json:"issue"`
	Total        int                `json:"total"`
	Skipped      int                `json:"skipped"`
	Articles     []articleReachJSON `json:"articles"`
	Combinations []combinationJSON  `json:"combinations"`
}

type articleReachJSON struct {
	Position   int `json:"position"`
	Recipients int `json:"recipients"`
}

type combinationJSON struct {
	Topics      []string `json:"topics"`
	Articles    []int    `json:"articles"`
	Subscribers int      `json:"subscribers"`
}

func getAudience(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	aud, err := s.ops.Audience(r.Context(), a, id)
	if err != nil {
		return err
	}
	out := audienceJSON{Issue: id, Total: aud.Total, Skipped: aud.Skipped,
		Articles:     make([]articleReachJSON, 0, len(aud.Articles)),
		Combinations: make([]combinationJSON, 0, len(aud.Combinations))}
	for _, x := range aud.Articles {
		out.Articles = append(out.Articles, articleReachJSON{x.Position, x.Recipients})
	}
	for _, c := range aud.Combinations {
		out.Combinations = append(out.Combinations, combinationJSON{orEmpty(c.Topics), orEmpty(c.Articles), c.Subscribers})
	}
	return writeJSON(w, http.StatusOK, out)
}
