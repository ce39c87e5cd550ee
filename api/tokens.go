package api

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/ops"
)

// tokenJSON is an API token, keys as `token ls --json`; its secret is never
// shown again after POST /tokens.
type tokenJSON struct {
	Name     string   `json:"name"`
	Role     string   `json:"role"`
	Lists    []string `json:"lists"`
	LastUsed *string  `json:"last_used"`
	Created  *string  `json:"created"`
}

func toTokenJSON(t *ops.Token) tokenJSON {
	return tokenJSON{Name: t.Name, Role: string(t.Role), Lists: listsOf(t.AllLists, t.Lists),
		LastUsed: timeOrNil(t.LastUsed), Created: timeOrNil(t.CreatedAt)}
}

func getTokens(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	ts, err := s.ops.Tokens(r.Context(), a)
	if err != nil {
		return err
	}
	out := make([]tokenJSON, 0, len(ts))
	for i := range ts {
		out = append(out, toTokenJSON(&ts[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

// newTokenRequest is the body of POST /tokens.
type newTokenRequest struct {
	Name  string   `json:"name"`
	Role  string   `json:"role"`
	Lists []string `json:"lists"`
}

// postToken makes a token: 201 with its secret (key token), shown this once.
func postToken(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	var req newTokenRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Name) == "" {
		return invalid("name", "required")
	}
	role, lists, err := roleAndLists(req.Role, req.Lists)
	if err != nil {
		return err
	}
	t, secret, err := s.ops.AddToken(r.Context(), a, strings.TrimSpace(req.Name), role, lists)
	if err != nil {
		return err
	}
	w.Header().Set("Location", Prefix+"/tokens/"+url.PathEscape(t.Name))
	return writeJSON(w, http.StatusCreated, struct {
		tokenJSON
		Token string `json:"token"`
	}{toTokenJSON(t), secret})
}

func deleteToken(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	if err := s.ops.RemoveToken(r.Context(), a, r.PathValue("name")); err != nil {
		return err
	}
	return noContent(w)
}
