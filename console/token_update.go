package console

import (
	"net/http"

	"github.com/tidings/tidings/console/form"
)

// tokenAdd makes an API token and shows its secret once, in this answer
// (never in a redirect's address, where it would land in logs).
func (h *handler) tokenAdd(w http.ResponseWriter, r *http.Request) {
	f, err := form.ParseGrant(r, false)
	var secret string
	if err == nil {
		_, secret, err = h.ops.AddToken(r.Context(), actorOf(r), f.Name, f.Role, f.Lists)
	}
	if err != nil {
		if code, ok := formStatus(w, err); ok {
			h.showTokens(w, r, code, tokenListPage{Error: h.formError(r, err), Form: f})
			return
		}
		h.opsError(w, r, err)
		return
	}
	h.showTokens(w, r, http.StatusCreated, tokenListPage{Secret: secret, Name: f.Name})
}

func (h *handler) tokenDelete(w http.ResponseWriter, r *http.Request) {
	if err := h.ops.RemoveToken(r.Context(), actorOf(r), r.PathValue("name")); err != nil {
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/tokens", "deleted")
}
