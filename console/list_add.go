package console

import (
	"net/http"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/console/form"
)

func (h *handler) listAdd(w http.ResponseWriter, r *http.Request) {
	f, err := form.ParseList(r, true)
	if err == nil {
		l := &tidings.List{Slug: f.Slug, Name: f.Name, From: f.From, ReplyTo: f.ReplyTo, Address: f.Address, TZ: f.TZ, Lang: f.Lang,
			Clicks: f.Clicks, Opens: f.Opens}
		err = h.ops.CreateList(r.Context(), actorOf(r), l)
	}
	if err != nil {
		if code, ok := formStatus(w, err); ok {
			h.showLists(w, r, code, f, err)
			return
		}
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/lists/"+f.Slug+"/settings", "added")
}
