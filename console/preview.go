package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/tidings/tidings/ops"
)

// previewPage is the data of preview.html.
type previewPage struct {
	D       *ops.IssueDetail
	P       *ops.Preview
	Email   string
	Topics  []string
	Frame   string // the frame's address
	Phone   bool
	Names   map[string]string
	Titles  map[int]string
	Error   string
	Query   string // this preview's query, for the width links
	AllMode bool
}

// previewFor reads whose mail to preview from the query: ?email=, or
// ?topics=a&topics=b (or "all"); nothing means a reader of every topic.
func previewFor(r *http.Request) ops.PreviewFor {
	q := r.URL.Query()
	if e := strings.TrimSpace(q.Get("email")); e != "" {
		return ops.PreviewFor{Email: e}
	}
	var ts []string
	for _, v := range q["topics"] {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				ts = append(ts, s)
			}
		}
	}
	if len(ts) == 0 {
		ts = []string{"all"}
	}
	return ops.PreviewFor{Topics: ts}
}

// previewShow is the mail as one reader or topic set gets it: the HTML in
// a sandboxed frame at desk or phone width, and the text part.
func (h *handler) previewShow(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r, "id")
	if !ok {
		return
	}
	a := actorOf(r)
	d, err := h.ops.Issue(r.Context(), a, id)
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	pf := previewFor(r)
	v := url.Values{}
	if pf.Email != "" {
		v.Set("email", pf.Email)
	} else {
		for _, t := range pf.Topics {
			v.Add("topics", t)
		}
	}
	p := previewPage{D: d, Email: pf.Email, Topics: pf.Topics, Names: topicNames(d.Topics), Titles: map[int]string{},
		Phone: r.URL.Query().Get("width") == "phone", Query: v.Encode(), AllMode: pf.Email == "" && len(pf.Topics) == 1 && pf.Topics[0] == "all"}
	for _, ar := range d.Issue.Articles {
		p.Titles[ar.Position] = ar.Title
	}
	status := http.StatusOK
	if pv, err := h.ops.Preview(r.Context(), a, id, pf); err != nil {
		code, _ := statusOf(err)
		if code >= 500 || code == http.StatusForbidden {
			h.opsError(w, r, err)
			return
		}
		status, p.Error = code, h.formError(r, err)
	} else {
		p.P = pv
		p.Frame = "/admin/issues/" + itoa(id) + "/preview/frame?" + v.Encode()
	}
	h.render(w, r, status, "preview", view{Title: h.t(r, "preview.title"), List: d.List, IssueID: id, Data: p})
}

// frameCSP keeps the mail's HTML in its box: no script, no plugins, no
// requests but images, no way out of the sandbox.
const frameCSP = "sandbox; default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; frame-ancestors 'self'"

// previewFrame is the mail's HTML alone, for the sandboxed frame.
func (h *handler) previewFrame(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r, "id")
	if !ok {
		return
	}
	pv, err := h.ops.Preview(r.Context(), actorOf(r), id, previewFor(r))
	if err != nil {
		status, _ := statusOf(err)
		w.Header().Set("Content-Security-Policy", frameCSP)
		http.Error(w, http.StatusText(status), status)
		return
	}
	hd := w.Header()
	hd.Set("Content-Security-Policy", frameCSP)
	hd.Set("X-Frame-Options", "SAMEORIGIN")
	hd.Set("Content-Type", "text/html; charset=utf-8")
	w.Write([]byte(pv.HTML))
}
