package web_test

import (
	"net/url"
	"testing"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/subscribers"
	"github.com/tidings/tidings/token"
)

// A test copy's unsubscribe links name nobody (subscriber 0): the RFC 8058
// one-click POST a mailbox provider makes answers 200 and leaves every
// reader on the list, so an editor's test copy scores like real mail
// without endangering the reader it was composed for.
func TestTestCopyUnsubscribeIsHarmless(t *testing.T) {
	e := newEnv(t)
	reader := e.addSub(e.en, "reader@example.net", tidings.StatusConfirmed, subscribers.AllTopics)
	r := e.do(nil, "POST", "/weekly/unsubscribe/"+e.tok(token.Unsubscribe, e.en, 0), url.Values{"List-Unsubscribe": {"One-Click"}})
	if r.code != 200 {
		t.Fatalf("one-click on a test copy: %d, want 200", r.code)
	}
	ss, err := e.subs.Subscription(t.Context(), e.en.ID, reader.ID)
	if err != nil || ss.Status != tidings.StatusConfirmed {
		t.Errorf("reader after a test copy's one-click: %+v %v", ss, err)
	}
}
