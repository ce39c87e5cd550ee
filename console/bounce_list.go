package console

import (
	"net/http"
	"net/url"

	"github.com/tidings/tidings/ops"
)

type bounceListPage struct {
	Bounces []ops.Bounce
	Kind    string
	NextURL string
}

// bounceList is a list's bounces and complaints, newest first, by keyset.
func (h *handler) bounceList(w http.ResponseWriter, r *http.Request) {
	a := actorOf(r)
	l, err := h.ops.List(r.Context(), a, r.PathValue("list"))
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	q := r.URL.Query()
	kind := q.Get("kind")
	switch kind {
	case "", "hard", "soft", "complaint":
	default:
		h.fail(w, r, http.StatusUnprocessableEntity, "err.invalid", nil)
		return
	}
	bs, next, err := h.ops.Bounces(r.Context(), a, l.Slug, kind, q.Get("cursor"), 50)
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	p := bounceListPage{Bounces: bs, Kind: kind}
	if next != "" {
		p.NextURL = r.URL.Path + "?" + url.Values{"kind": {kind}, "cursor": {next}}.Encode()
	}
	h.render(w, r, http.StatusOK, "bounces", view{Title: h.t(r, "bounces.title"), List: l, Data: p})
}
