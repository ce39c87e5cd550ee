package ops

import (
	"testing"

	"github.com/tidings/tidings/subscribers"
)

// TestAddSubscriberKeepsWhatOtherListsSee: an editor of keji adding an
// address that already reads another list neither renames the person
// for that list's editors nor learns, from the answer, the name or the
// list it was given there. An actor of every list may rename.
func TestAddSubscriberKeepsWhatOtherListsSee(t *testing.T) {
	e := newPeopleEnv(t)
	if _, err := e.s.AddSubscriber(e.ctx, e.stranger, "other", "wang@example.org", "王伟", subscribers.AllTopics); err != nil {
		t.Fatal(err)
	}
	p, err := e.s.AddSubscriber(e.ctx, e.editor, "keji", "Wang@example.org", "Mallory", subscribers.AllTopics)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "Mallory" || len(p.Subscriptions) != 1 || p.Subscriptions[0].ListID != e.keji.ID {
		t.Errorf("the editor's answer: name %q, %d subscriptions; want its own name and list only", p.Name, len(p.Subscriptions))
	}
	d, err := e.s.Subscriber(e.ctx, e.stranger, "wang@example.org")
	if err != nil {
		t.Fatal(err)
	}
	if d.Subscriber.Name != "王伟" {
		t.Errorf("the other list's editor sees the name %q, want 王伟 unchanged", d.Subscriber.Name)
	}
	e.sub(t, e.keji, "li@example.org", subscribers.AllTopics, "confirmed")
	if _, err := e.s.AddSubscriber(e.ctx, e.admin, "other", "li@example.org", "李雷", subscribers.AllTopics); err != nil {
		t.Fatal(err)
	}
	if d, _ := e.s.Subscriber(e.ctx, e.admin, "li@example.org"); d.Subscriber.Name != "李雷" {
		t.Errorf("an admin of every list could not name the person: %q", d.Subscriber.Name)
	}
}
