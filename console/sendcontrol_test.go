package console_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/ops"
)

// Pause, resume and cancel from the progress page, before the daemon
// starts the send (no engine runs here): paused, the page offers resume;
// resumed, pause; cancelled while held, nothing went out and the issue is
// a draft again. A refused control is explained, not an error page.
func TestSendControlsOnProgressPage(t *testing.T) {
	e := newEnv(t, envOpts{})
	is := e.importAs("keji", "keji.md", sample(t))
	b := e.browser()
	b.signIn(editorEmail)
	base := fmt.Sprintf("/admin/issues/%d", is.ID)
	buttons := func() (pause, resume, cancel bool) {
		p := must(t, b.get(base+"/progress"), 200, "progress")
		return strings.Contains(p.body, `action="`+base+`/pause"`), strings.Contains(p.body, `action="`+base+`/resume"`),
			strings.Contains(p.body, `action="`+base+`/cancel"`)
	}
	a := must(t, b.post(base+"/pause", nil), 303, "pause before send")
	if a.header.Get("Location") != base+"/progress?done=conflict" {
		t.Errorf("pause of an unsent issue: %q", a.header.Get("Location"))
	}
	if a := b.get(base + "/progress?done=conflict"); !strings.Contains(a.body, "That is no longer possible") {
		t.Error("a refused pause is not explained")
	}
	must(t, b.post(base+"/send", url.Values{"confirm": {"yes"}}), 303, "send")
	if p, r, _ := buttons(); !p || r {
		t.Errorf("sending: pause %v resume %v", p, r)
	}
	must(t, b.post(base+"/pause", nil), 303, "pause")
	if j := b.get(base + "/progress.json"); !strings.Contains(j.body, `"held":true`) {
		t.Errorf("after pause: %s", j.body)
	}
	if p, r, c := buttons(); p || !r || !c {
		t.Errorf("paused: pause %v resume %v cancel %v", p, r, c)
	}
	must(t, b.post(base+"/resume", nil), 303, "resume")
	if p, r, _ := buttons(); !p || r {
		t.Errorf("resumed: pause %v resume %v", p, r)
	}
	must(t, b.post(base+"/pause", nil), 303, "pause again")
	must(t, b.post(base+"/cancel", nil), 422, "cancel without the box")
	a = must(t, b.post(base+"/cancel", url.Values{"confirm": {"yes"}}), 303, "cancel")
	if a.header.Get("Location") != base+"/progress?done=cancelled" {
		t.Errorf("cancel: %q", a.header.Get("Location"))
	}
	if p, r, c := buttons(); p || r || c {
		t.Errorf("cancelled: pause %v resume %v cancel %v", p, r, c)
	}
	if d, _ := e.svc.Issue(bg, ops.CLI(), is.ID); d.Issue.Status != tidings.IssueDraft {
		t.Errorf("issue after a cancel before start: %s", d.Issue.Status)
	}
	// The other list's editor controls nothing.
	o := e.browser()
	o.signIn(otherEmail)
	for _, p := range []string{"/pause", "/resume", "/cancel"} {
		must(t, o.post(base+p, url.Values{"confirm": {"yes"}}), 403, "other editor "+p)
	}
}
