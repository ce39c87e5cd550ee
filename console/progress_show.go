package console

import (
	"net/http"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/ops"
)

type progressPage struct {
	D      *ops.IssueDetail
	S      *ops.SendStatus
	Done   int
	Active bool // preparing or running: the script polls
	// Which controls apply: a send handed to the daemon but not started
	// yet ("" state, issue sending) may be paused and cancelled too.
	CanPause, CanResume, CanCancel bool
}

// progressShow is a send's totals by state, rate, ETA and failures with
// their SMTP replies, with pause, resume and cancel.
func (h *handler) progressShow(w http.ResponseWriter, r *http.Request) {
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
	st, err := h.ops.Status(r.Context(), a, id, 50)
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	live := st.State != "done" && (st.State != "" || d.Issue.Status == tidings.IssueSending)
	p := progressPage{D: d, S: st, Done: st.Counts.Done(),
		Active:    live && !st.Held && st.State != "paused",
		CanPause:  live && !st.Held,
		CanResume: live && (st.Held || st.State == "paused"),
		CanCancel: live,
	}
	h.render(w, r, http.StatusOK, "progress", view{Title: h.t(r, "progress.title"), List: d.List, IssueID: id, Data: p})
}

// progressJSON is what the script polls.
func (h *handler) progressJSON(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r, "id")
	if !ok {
		return
	}
	st, err := h.ops.Status(r.Context(), actorOf(r), id, 50)
	if err != nil {
		h.jsonError(w, r, err)
		return
	}
	type failure struct {
		Email    string `json:"email"`
		State    string `json:"state"`
		Attempts int    `json:"attempts"`
		Reply    string `json:"reply"`
	}
	fs := []failure{}
	for _, f := range st.Failures {
		reply := f.Reply
		if reply == "" {
			reply = f.Error
		}
		fs = append(fs, failure{f.Email, f.State, f.Attempts, reply})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"state": st.State, "reason": st.Reason, "held": st.Held,
		"total": st.Counts.Total, "sent": st.Counts.Sent, "failed": st.Counts.Failed, "skipped": st.Counts.Skipped,
		"pending": st.Counts.Pending, "bounced": st.Counts.Bounced + st.Bounces, "complained": st.Counts.Complained,
		"done": st.Counts.Done(), "percent": percent(st.Counts.Done(), st.Counts.Total),
		"rate": st.Rate, "eta_seconds": int(st.ETA.Seconds()), "failures": fs,
	})
}
