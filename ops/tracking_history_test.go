package ops

import (
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/subscribers"
)

// A person's page lists their human clicks (with the link) and opens
// that individual tracking kept, on the actor's lists only; machine
// events are not a person's doing and stay out.
func TestSubscriberHistoryHasTrackedActivity(t *testing.T) {
	e := newPeopleEnv(t)
	p := e.sub(t, e.keji, "ann@example.org", subscribers.AllTopics, tidings.StatusConfirmed)
	e.sub(t, e.other, "ann@example.org", subscribers.AllTopics, tidings.StatusConfirmed)
	at := e.clock.Add(time.Hour).Unix()
	for _, q := range []string{
		"INSERT INTO issues (id, list_id, number, title, created_at) VALUES (70, ?1, 7, 'No. 7', 0)",
		"INSERT INTO issues (id, list_id, number, title, created_at) VALUES (80, ?4, 3, 'Other No. 3', 0)",
		"INSERT INTO track_links (issue_id, position, link, url) VALUES (70, 2, 1, 'https://example.com/paper')",
		"INSERT INTO track_events (subscriber_id, issue_id, kind, position, link, verdict, reason, at) VALUES (?2, 70, 'click', 2, 1, 'human', '', ?3 + 120)",
		"INSERT INTO track_events (subscriber_id, issue_id, kind, position, link, verdict, reason, at) VALUES (?2, 70, 'open', 0, 0, 'human', 'gmail_proxy', ?3 + 60)",
		"INSERT INTO track_events (subscriber_id, issue_id, kind, position, link, verdict, reason, at) VALUES (?2, 70, 'click', 2, 1, 'machine', 'head', ?3 + 1)",
		"INSERT INTO track_events (subscriber_id, issue_id, kind, position, link, verdict, reason, at) VALUES (?2, 80, 'click', 1, 1, 'human', '', ?3 + 30)",
	} {
		if _, err := e.d.W.Exec(q, e.keji.ID, p.ID, at, e.other.ID); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	d, err := e.s.Subscriber(e.ctx, e.editor, "ann@example.org")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, ev := range d.History {
		if ev.Kind == "click" || ev.Kind == "open" {
			lines = append(lines, ev.Kind+":"+ev.Detail+":"+idStr(ev.Issue))
		}
	}
	if got, want := strings.Join(lines, " "), "click:https://example.com/paper:7 open::7"; got != want {
		t.Errorf("tracked history %q, want %q", got, want)
	}
}
