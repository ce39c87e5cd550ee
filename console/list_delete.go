package console

import (
	"net/http"

	"github.com/tidings/tidings/console/form"
)

// listDelete removes a list (admins), after the box that says so is
// ticked; ops refuses while readers are on it unless "force" is ticked too.
func (h *handler) listDelete(w http.ResponseWriter, r *http.Request) {
	a := actorOf(r)
	slug := r.PathValue("list")
	err := r.ParseForm()
	if err == nil && r.PostForm.Get("confirm") != "yes" {
		err = &form.Error{Field: "confirm", Key: "sub.err.confirm"}
	}
	if err == nil {
		err = h.ops.DeleteList(r.Context(), a, slug, r.PostForm.Get("force") == "yes")
	}
	if err == nil {
		http.SetCookie(w, &http.Cookie{Name: listCookie, Value: "", Path: prefix + "/", MaxAge: -1})
		back(w, r, "/admin/lists", "deleted")
		return
	}
	code, ok := formStatus(w, err)
	if !ok {
		h.opsError(w, r, err)
		return
	}
	l, lerr := h.ops.List(r.Context(), a, slug)
	if lerr != nil {
		h.opsError(w, r, lerr)
		return
	}
	h.render(w, r, code, "list", view{Title: h.t(r, "list.title"), List: l, Data: listEditPage{L: l, Error: h.formError(r, err)}})
}
