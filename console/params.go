package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// pathID reads a numeric path value; a malformed one is a 404, like an
// id that does not exist.
func (h *handler) pathID(w http.ResponseWriter, r *http.Request, name string) (int64, bool) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || n <= 0 {
		h.fail(w, r, http.StatusNotFound, "err.notfound", nil)
		return 0, false
	}
	return n, true
}

// wantsJSON reports whether the script (not a plain form post) asked.
func wantsJSON(r *http.Request) bool {
	return r.Header.Get("Accept") == "application/json"
}

// back redirects to a console page after a form, with a notice.
func back(w http.ResponseWriter, r *http.Request, to, done string) {
	if done != "" {
		path, frag, hasFrag := strings.Cut(to, "#")
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		to = path + sep + "done=" + done
		if hasFrag {
			to += "#" + frag
		}
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func urlQuery(s string) string { return url.QueryEscape(s) }
