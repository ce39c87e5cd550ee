package console

import (
	"net/http"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/console/form"
)

type listEditPage struct {
	L     *tidings.List
	Error string
}

// listEdit shows a list's settings; only admins may save them (ops checks).
func (h *handler) listEdit(w http.ResponseWriter, r *http.Request) {
	l, err := h.ops.List(r.Context(), actorOf(r), r.PathValue("list"))
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "list", view{Title: h.t(r, "list.title"), List: l, Data: listEditPage{L: l}})
}

func (h *handler) listUpdate(w http.ResponseWriter, r *http.Request) {
	a := actorOf(r)
	f, err := form.ParseList(r, false)
	if err == nil {
		_, err = h.ops.UpdateList(r.Context(), a, r.PathValue("list"), func(l *tidings.List) error {
			l.Name, l.From, l.ReplyTo, l.Address, l.TZ, l.Lang = f.Name, f.From, f.ReplyTo, f.Address, f.TZ, f.Lang
			if f.Clicks != "" {
				l.Clicks = f.Clicks
			}
			if f.Opens != "" {
				l.Opens = f.Opens
			}
			return nil
		})
	}
	if err != nil {
		if code, ok := formStatus(w, err); ok {
			l, lerr := h.ops.List(r.Context(), a, r.PathValue("list"))
			if lerr != nil {
				h.opsError(w, r, lerr)
				return
			}
			h.render(w, r, code, "list", view{Title: h.t(r, "list.title"), List: l,
				Data: listEditPage{L: l, Error: h.formError(r, err)}})
			return
		}
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/lists/"+r.PathValue("list")+"/settings", "saved")
}
