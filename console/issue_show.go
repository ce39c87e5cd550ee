package console

import (
	"net/http"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/ops"
	"github.com/tidings/tidings/schedule"
)

// issuePage is the data of issue.html: the articles with their topics and
// audiences, and the forms for preview, test copy, schedule and send.
type issuePage struct {
	D         *ops.IssueDetail
	Audience  *ops.Audience
	Recipient map[int]int // article position → readers who get it
	Names     map[string]string
	Status    *ops.SendStatus
	Schedules []schedule.Schedule // this issue's one-off schedules
	Zone      string
	AtDefault string // the datetime-local value offered: the next full hour
	AtMin     string
	Me        string
	Editable  bool // tags and titles may still change
	Sendable  bool
	Error     string // a failed form's message
	ErrorForm string // which form failed: article-N, test, schedule, retag
}

func (h *handler) issueShow(w http.ResponseWriter, r *http.Request) {
	id, ok := h.pathID(w, r, "id")
	if !ok {
		return
	}
	h.showIssue(w, r, id, http.StatusOK, "", nil)
}

// showIssue renders the issue page, with a failed form's error when err.
func (h *handler) showIssue(w http.ResponseWriter, r *http.Request, id int64, status int, errForm string, ferr error) {
	a := actorOf(r)
	d, err := h.ops.Issue(r.Context(), a, id)
	if err != nil {
		h.opsError(w, r, err)
		return
	}
	p := issuePage{D: d, Names: topicNames(d.Topics), Me: a.Name, Recipient: map[int]int{}}
	if aud, err := h.ops.Audience(r.Context(), a, id); err == nil {
		p.Audience = aud
		for _, x := range aud.Articles {
			p.Recipient[x.Position] = x.Recipients
		}
	} else {
		h.log.Warn("console: audience", "issue", id, "err", err)
	}
	if st, err := h.ops.Status(r.Context(), a, id, 5); err == nil && st.State != "" {
		p.Status = st
	}
	ss, err := h.ops.Schedules(r.Context(), a, d.List.Slug)
	if err == nil {
		if ss == nil {
			ss = []schedule.Schedule{}
		}
		for _, s := range ss {
			if s.IssueID == id && !s.Done {
				p.Schedules = append(p.Schedules, s)
			}
		}
	}
	loc := d.List.Location()
	p.Zone = loc.String()
	next := h.now().In(loc).Truncate(time.Minute).Add(time.Hour)
	next = next.Add(-time.Duration(next.Minute()) * time.Minute)
	p.AtDefault = next.Format("2006-01-02T15:04")
	p.AtMin = h.now().In(loc).Format("2006-01-02T15:04")
	switch d.Issue.Status {
	case tidings.IssueDraft, tidings.IssueReady, tidings.IssueScheduled:
		p.Editable, p.Sendable = true, true
	}
	if ferr != nil {
		p.Error, p.ErrorForm = h.formError(r, ferr), errForm
	}
	h.render(w, r, status, "issue", view{Title: issueTitle(d.Issue), List: d.List, IssueID: id, Data: p, schedules: ss})
}

func issueTitle(is *tidings.Issue) string {
	return is.Title
}

func topicNames(ts []tidings.Topic) map[string]string {
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		m[t.Slug] = t.Name
	}
	return m
}
