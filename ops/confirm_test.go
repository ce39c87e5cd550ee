package ops

import (
	"bytes"
	"errors"
	"mime"
	"net/mail"
	"testing"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/inbound"
	"github.com/tidings/tidings/render"
	"github.com/tidings/tidings/subscribers"
	"github.com/tidings/tidings/token"
)

// subjectOf is the decoded Subject of a message ("" for none).
func subjectOf(t *testing.T, msg []byte) string {
	t.Helper()
	if msg == nil {
		return ""
	}
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatal(err)
	}
	s, err := new(mime.WordDecoder).DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestConfirmerAnswersMailAsTheFormDoes: subscribe-by-mail records a
// pending reader and answers with the confirmation, a confirmed reader
// gets the preferences link, a blocked one nothing; leave-by-mail answers
// only readers who are on the list.
func TestConfirmerAnswersMailAsTheFormDoes(t *testing.T) {
	e := newPeopleEnv(t)
	c := NewConfirmer(e.d, &render.Renderer{Links: tidings.Links{Base: "https://news.example.org"}, Signer: token.New(make([]byte, 32)),
		Now: func() time.Time { return e.clock }})
	var _ inbound.Confirmer = c
	e.sub(t, e.other, "conf@example.org", subscribers.AllTopics, tidings.StatusConfirmed)
	e.sub(t, e.other, "blocked@example.org", subscribers.AllTopics, tidings.StatusBlocked)
	e.sub(t, e.other, "left@example.org", subscribers.AllTopics, tidings.StatusUnsubscribed)

	for _, tc := range []struct {
		email, subject string
		status         tidings.Status
	}{
		{"new@example.org", "Confirm your subscription to Other", tidings.StatusPending},
		{"conf@example.org", "You are already subscribed to Other", tidings.StatusConfirmed},
		{"blocked@example.org", "", tidings.StatusBlocked},
		{"left@example.org", "Confirm your subscription to Other", tidings.StatusPending}, // re-opt-in
	} {
		msg, from, err := c.SubscribeMail(e.ctx, e.other, tc.email, "", nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.email, err)
		}
		if got := subjectOf(t, msg); got != tc.subject {
			t.Errorf("%s: subject %q, want %q", tc.email, got, tc.subject)
		}
		if msg != nil && from == "" {
			t.Errorf("%s: no envelope sender", tc.email)
		}
		d, err := e.s.Subscriber(e.ctx, e.admin, tc.email)
		if err != nil {
			t.Fatal(err)
		}
		if st := d.Subscriber.Subscriptions[0].Status; st != tc.status {
			t.Errorf("%s: status %s, want %s", tc.email, st, tc.status)
		}
	}
	if _, _, err := c.SubscribeMail(e.ctx, e.other, "not an address", "", nil); err == nil {
		t.Error("a bad address was accepted")
	}

	msg, _, err := c.LeaveMail(e.ctx, e.other, "CONF@example.org")
	if err != nil || subjectOf(t, msg) != "Unsubscribe from Other?" {
		t.Errorf("leave of a confirmed reader: %q, %v", subjectOf(t, msg), err)
	}
	for _, addr := range []string{"nobody@example.org", "blocked@example.org"} {
		if _, _, err := c.LeaveMail(e.ctx, e.other, addr); !errors.Is(err, inbound.ErrNotSubscribed) {
			t.Errorf("leave of %s: %v, want ErrNotSubscribed", addr, err)
		}
	}
	// Someone on another list only is not subscribed to this one.
	e.sub(t, e.keji, "kejionly@example.org", subscribers.AllTopics, tidings.StatusConfirmed)
	if _, _, err := c.LeaveMail(e.ctx, e.other, "kejionly@example.org"); !errors.Is(err, inbound.ErrNotSubscribed) {
		t.Errorf("leave of another list's reader: %v", err)
	}
}
