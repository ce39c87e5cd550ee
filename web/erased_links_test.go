package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/subscribers"
	"github.com/tidings/tidings/token"
)

// The permanent links in an erased reader's old mails must not open
// the preferences of whoever is added next: subscriber ids are never
// reused (schema: INTEGER PRIMARY KEY AUTOINCREMENT).
func TestErasedReadersLinksStayDead(t *testing.T) {
	e := newEnv(t)
	e.addSub(e.en, "first@example.net", tidings.StatusConfirmed, subscribers.AllTopics)
	gone := e.addSub(e.en, "erased@example.net", tidings.StatusConfirmed, subscribers.AllTopics)
	prefs := "/weekly/preferences/" + e.tok(token.Preferences, e.en, gone.ID)
	if err := e.subs.Delete(context.Background(), "erased@example.net"); err != nil {
		t.Fatal(err)
	}
	next := e.addSub(e.en, "next@example.net", tidings.StatusConfirmed, subscribers.AllTopics)
	if next.ID == gone.ID {
		t.Errorf("subscriber id %d reused after an erasure", next.ID)
	}
	if r := e.do(nil, "GET", prefs, nil); r.code != 400 || strings.Contains(r.body, "next@example.net") {
		t.Errorf("an erased reader's link opened another's preferences: %d", r.code)
	}
}
