package console

import (
	"errors"
	"net/http"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/console/form"
	"github.com/tidings/tidings/ops"
)

type listListPage struct {
	All   []tidings.List
	Error string
	Form  form.List
}

// listList shows every list the user may see, and (admins) adds one.
func (h *handler) listList(w http.ResponseWriter, r *http.Request) {
	h.showLists(w, r, http.StatusOK, form.List{Lang: tidings.LangZH, TZ: "Asia/Shanghai"}, nil)
}

func (h *handler) showLists(w http.ResponseWriter, r *http.Request, status int, f form.List, ferr error) {
	ls, err := h.ops.Lists(r.Context(), actorOf(r))
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	p := listListPage{All: ls, Form: f}
	if ferr != nil {
		p.Error = h.formError(r, ferr)
	}
	h.render(w, r, status, "lists", view{Title: h.t(r, "lists.title"), Data: p})
}

func (h *handler) listAdd(w http.ResponseWriter, r *http.Request) {
	f, err := form.ParseList(r, true)
	if err == nil {
		l := &tidings.List{Slug: f.Slug, Name: f.Name, From: f.From, ReplyTo: f.ReplyTo, Address: f.Address, TZ: f.TZ, Lang: f.Lang,
			Clicks: f.Clicks, Opens: f.Opens}
		err = h.ops.CreateList(r.Context(), actorOf(r), l)
	}
	if err != nil {
		if errors.Is(err, form.ErrBad) || errors.Is(err, ops.ErrInvalid) || errors.Is(err, ops.ErrConflict) {
			h.showLists(w, r, http.StatusUnprocessableEntity, f, err)
			return
		}
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/lists/"+f.Slug+"/settings", "added")
}

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
		if errors.Is(err, form.ErrBad) || errors.Is(err, ops.ErrInvalid) {
			l, lerr := h.ops.List(r.Context(), a, r.PathValue("list"))
			if lerr != nil {
				h.opsError(w, r, lerr)
				return
			}
			h.render(w, r, http.StatusUnprocessableEntity, "list", view{Title: h.t(r, "list.title"), List: l,
				Data: listEditPage{L: l, Error: h.formError(r, err)}})
			return
		}
		h.opsError(w, r, err)
		return
	}
	back(w, r, "/admin/lists/"+r.PathValue("list")+"/settings", "saved")
}

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
	if !errors.Is(err, form.ErrBad) && !errors.Is(err, ops.ErrConflict) {
		h.opsError(w, r, err)
		return
	}
	l, lerr := h.ops.List(r.Context(), a, slug)
	if lerr != nil {
		h.opsError(w, r, lerr)
		return
	}
	code := http.StatusUnprocessableEntity
	if errors.Is(err, ops.ErrConflict) {
		code = http.StatusConflict
	}
	h.render(w, r, code, "list", view{Title: h.t(r, "list.title"), List: l, Data: listEditPage{L: l, Error: h.formError(r, err)}})
}
