package inbound

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jhillyerd/enmime/v2"

	"github.com/tidings/tidings"
)

// sentTo returns the messages the sink got for addr, parsed.
func (e *env) sentTo(addr string) []*enmime.Envelope {
	e.t.Helper()
	var out []*enmime.Envelope
	for _, m := range e.sink.Messages() {
		if len(m.To) == 1 && strings.EqualFold(m.To[0], addr) {
			env, err := enmime.ReadEnvelope(bytes.NewReader(m.Data))
			if err != nil {
				e.t.Fatal(err)
			}
			out = append(out, env)
		}
	}
	return out
}

func (e *env) topicsOf(email string) []string {
	e.t.Helper()
	sub, err := e.store.Get(e.ctx, email)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, ss := range sub.Subscriptions {
		if ss.ListID == e.list.ID {
			if ss.AllTopics {
				return []string{"all"}
			}
			return ss.Topics
		}
	}
	return nil
}

func TestSubscribeByMail(t *testing.T) {
	cases := []struct {
		fixture, email string
		topics         []string
	}{
		{"subscribe.eml", "alice@example.net", []string{"biomed"}},
		{"subscribe-zh.eml", "wang@example.cn", []string{"biomed", "ylkj"}},
	}
	for _, tc := range cases {
		t.Run(tc.fixture, func(t *testing.T) {
			e := newEnv(t)
			e.mustSend(tc.email, []string{"keji+subscribe@news.example.org"}, e.fixture(tc.fixture))
			if st := e.status(tc.email); st != tidings.StatusPending {
				t.Fatalf("status = %q, want pending (double opt-in)", st)
			}
			got := e.topicsOf(tc.email)
			if strings.Join(got, ",") != strings.Join(tc.topics, ",") {
				t.Errorf("topics = %v, want %v", got, tc.topics)
			}
			mails := e.sentTo(tc.email)
			if len(mails) != 1 {
				t.Fatalf("%d mails to %s, want one confirmation", len(mails), tc.email)
			}
			m := mails[0]
			if s := m.GetHeader("Subject"); !strings.Contains(s, "确认订阅") {
				t.Errorf("subject %q: want the confirmation mail", s)
			}
			if !strings.Contains(m.Text, "https://news.example.org/keji/confirm/") {
				t.Errorf("confirmation mail has no confirm link:\n%s", m.Text)
			}
		})
	}
}

func TestSubscribeConfirmedGetsManageMail(t *testing.T) {
	e := newEnv(t)
	msg := []byte("From: Reader <reader@example.com>\r\nTo: keji+subscribe@news.example.org\r\nSubject: subscribe\r\nMessage-ID: <m1@example.com>\r\n\r\nhi\r\n")
	e.mustSend("reader@example.com", []string{"keji+subscribe@news.example.org"}, msg)
	if st := e.status("reader@example.com"); st != tidings.StatusConfirmed {
		t.Errorf("status = %s, want confirmed (unchanged)", st)
	}
	mails := e.sentTo("reader@example.com")
	if len(mails) != 1 || !strings.Contains(mails[0].Text, "/keji/preferences/") {
		t.Fatalf("want one manage mail with a preferences link, got %d", len(mails))
	}
}

func TestLeaveByMail(t *testing.T) {
	e := newEnv(t)
	e.mustSend("reader@example.com", []string{"keji+unsubscribe@news.example.org"}, e.fixture("leave.eml"))
	if st := e.status("reader@example.com"); st != tidings.StatusConfirmed {
		t.Errorf("status = %s, want confirmed until the link is used (From can be forged)", st)
	}
	mails := e.sentTo("reader@example.com")
	if len(mails) != 1 || !strings.Contains(mails[0].Text, "https://news.example.org/keji/unsubscribe/") {
		t.Fatalf("want one mail with an unsubscribe link, got %d", len(mails))
	}
	// A stranger's leave request: nothing to answer, nothing revealed.
	msg := bytes.ReplaceAll(e.fixture("leave.eml"), []byte("reader@example.com"), []byte("stranger@example.com"))
	e.mustSend("stranger@example.com", []string{"keji+unsubscribe@news.example.org"}, msg)
	if n := e.sink.Count(); n != 1 {
		t.Errorf("%d mails sent, want still 1", n)
	}
}

func TestNoReplyLoops(t *testing.T) {
	base := "To: keji+subscribe@news.example.org\r\nSubject: subscribe\r\nMessage-ID: <loop@x>\r\n"
	cases := []struct {
		name, mailFrom, headers string
	}{
		{"From is the list itself", "news@news.example.org", "From: 科技情报 <news@news.example.org>\r\n"},
		{"MAIL FROM is the list", "news@news.example.org", "From: someone@example.net\r\n"},
		{"From is a list inbound address", "x@example.net", "From: keji+subscribe@news.example.org\r\n"},
		{"From is a VERP address", "x@example.net", "From: bounces+abc@news.example.org\r\n"},
		{"null sender", "", "From: someone@example.net\r\n"},
		{"mailer daemon", "MAILER-DAEMON@example.net", "From: MAILER-DAEMON@example.net\r\n"},
		{"auto-submitted", "someone@example.net", "From: someone@example.net\r\nAuto-Submitted: auto-replied\r\n"},
		{"x-autoreply", "someone@example.net", "From: someone@example.net\r\nX-Autoreply: yes\r\n"},
		{"precedence bulk", "someone@example.net", "From: someone@example.net\r\nPrecedence: bulk\r\n"},
		{"list mail", "someone@example.net", "From: someone@example.net\r\nList-Id: Other list <other.example.net>\r\n"},
		{"report", "someone@example.net", "From: someone@example.net\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n"},
		{"no From", "someone@example.net", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			msg := tc.headers + base + "\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b--\r\n"
			e.mustSend(tc.mailFrom, []string{"keji+subscribe@news.example.org"}, []byte(msg))
			if n := e.sink.Count(); n != 0 {
				t.Errorf("%d mails sent, want none", n)
			}
			if st := e.status("someone@example.net"); st != "" {
				t.Errorf("someone@example.net is %s, want not subscribed", st)
			}
		})
	}
}

func TestReplyRateLimit(t *testing.T) {
	e := newEnv(t)
	sendOne := func(i int) {
		msg := fmt.Sprintf("From: victim@example.net\r\nTo: keji+subscribe@news.example.org\r\nSubject: subscribe\r\nMessage-ID: <r%d@example.net>\r\n\r\nhi\r\n", i)
		e.mustSend("victim@example.net", []string{"keji+subscribe@news.example.org"}, []byte(msg))
	}
	for i := range 5 {
		sendOne(i)
	}
	if n := e.sink.Count(); n != 3 {
		t.Fatalf("%d answers to one address within an hour, want 3", n)
	}
	e.clock.Add(61 * time.Minute)
	sendOne(5)
	if n := e.sink.Count(); n != 4 {
		t.Errorf("%d answers after the window passed, want 4", n)
	}
}

func TestMatchTopics(t *testing.T) {
	topics := []tidings.Topic{{Slug: "ylkj", Name: "养老科技"}, {Slug: "biomed", Name: "生物医药"}, {Slug: "space", Name: "Space Tech"}, {Slug: "ai", Name: "AI"}}
	cases := []struct {
		subject string
		want    string
	}{
		{"订阅 养老科技 生物医药", "ylkj,biomed"},
		{"订阅养老科技和生物医药", "ylkj,biomed"},
		{"subscribe biomed", "biomed"},
		{"Subscribe BIOMED, space", "biomed,space"},
		{"subscribe to space tech please", "space"},
		{"subscribe", ""},
		{"订阅", ""},
		{"spacetech maintenance", ""}, // ASCII names match whole words only
		{"mail me", ""},               // "ai" inside a word is not the topic
		{"subscribe ai", "ai"},
	}
	for _, tc := range cases {
		got := strings.Join(matchTopics(tc.subject, topics), ",")
		if got != tc.want {
			t.Errorf("matchTopics(%q) = %q, want %q", tc.subject, got, tc.want)
		}
	}
}
