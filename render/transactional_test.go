package render

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/jhillyerd/enmime/v2"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/token"
)

func TestConfirmationMailKinds(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	signer := token.New([]byte("0123456789abcdef0123456789abcdef"))
	signer.Now = func() time.Time { return now }
	r := &Renderer{Links: tidings.Links{Base: "https://news.example.org"}, Signer: signer, Now: signer.Now}
	en := &tidings.List{ID: 3, Slug: "weekly", Name: "Tidings Weekly", From: "Tidings Weekly <news@example.org>", Lang: tidings.LangEN, TZ: "UTC", ReplyTo: "editor@example.org"}
	zh := &tidings.List{ID: 4, Slug: "keji", Name: "科技情报参考", From: "科技情报 <keji@example.cn>", Lang: tidings.LangZH, TZ: "Asia/Shanghai"}
	topics := []tidings.Topic{{Slug: "ai", Name: "AI"}, {Slug: "bio", Name: "Bio"}}
	sub := tidings.Subscriber{ID: 7, Email: "reader@example.net", Name: "Ada", Subscriptions: []tidings.Subscription{
		{ListID: 3, Topics: []string{"bio"}}, {ListID: 4, AllTopics: true},
	}}
	cases := []struct {
		list    *tidings.List
		kind    ConfirmKind
		subject string
		path    string
		purpose token.Purpose
		expires time.Duration
		text    []string
	}{
		{en, Confirm, "Confirm your subscription to Tidings Weekly", "/weekly/confirm/", token.Confirm, 48 * time.Hour, []string{"Topics you chose: Bio", "2026-03-03 09:00 UTC"}},
		{en, Manage, "You are already subscribed to Tidings Weekly", "/weekly/preferences/", token.Manage, ManageTTL, []string{"Topics you receive: Bio"}},
		{en, Leave, "Unsubscribe from Tidings Weekly?", "/weekly/unsubscribe/", token.Unsubscribe, 0, []string{"unsubscribe this address"}},
		{zh, Confirm, "请确认订阅《科技情报参考》", "/keji/confirm/", token.Confirm, 48 * time.Hour, []string{"您选择的主题: 全部主题", "2026-03-03 17:00 CST"}},
		{zh, Leave, "确认退订《科技情报参考》？", "/keji/unsubscribe/", token.Unsubscribe, 0, []string{"退订"}},
	}
	for _, c := range cases {
		t.Run(c.list.Slug+"/"+c.kind.String(), func(t *testing.T) {
			msg, from, err := r.ConfirmationMailTTL(c.list, topics, sub, c.kind, 48*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if from != c.list.FromAddress() {
				t.Errorf("envelope from %q", from)
			}
			env, err := enmime.ReadEnvelope(bytes.NewReader(msg))
			if err != nil {
				t.Fatal(err)
			}
			if got := env.GetHeader("Subject"); got != c.subject {
				t.Errorf("subject %q, want %q", got, c.subject)
			}
			for _, h := range []string{"Date", "Message-Id", "From", "To"} {
				if env.GetHeader(h) == "" {
					t.Errorf("no %s header", h)
				}
			}
			if !strings.HasSuffix(env.GetHeader("Message-Id"), "@"+c.list.Domain()+">") || env.GetHeader("Auto-Submitted") != "auto-generated" {
				t.Errorf("Message-Id %q, Auto-Submitted %q", env.GetHeader("Message-Id"), env.GetHeader("Auto-Submitted"))
			}
			if env.GetHeader("List-Unsubscribe") != "" || env.GetHeader("User-Agent") != "" {
				t.Error("transactional mail carries List-Unsubscribe or User-Agent")
			}
			for _, want := range c.text {
				if !strings.Contains(env.Text, want) {
					t.Errorf("text lacks %q:\n%s", want, env.Text)
				}
			}
			i := strings.Index(env.Text, "https://news.example.org"+c.path)
			if i < 0 {
				t.Fatalf("no %s link:\n%s", c.path, env.Text)
			}
			link := strings.Fields(env.Text[i:])[0]
			if !strings.Contains(env.HTML, link) {
				t.Errorf("html part lacks the link")
			}
			cl, err := signer.Verify(link[strings.LastIndexByte(link, '/')+1:], c.purpose)
			if err != nil || cl.SubscriberID != 7 || cl.ListID != c.list.ID {
				t.Fatalf("token: %+v %v", cl, err)
			}
			if c.expires == 0 && !cl.Expires.IsZero() || c.expires != 0 && !cl.Expires.Equal(now.Add(c.expires)) {
				t.Errorf("expires %v, want +%v", cl.Expires, c.expires)
			}
			if (c.purpose == token.Confirm) != (len(cl.Nonce) > 0) {
				t.Errorf("nonce %x for %s", cl.Nonce, c.purpose)
			}
		})
	}
	if _, _, err := (&Renderer{}).ConfirmationMail(en, topics, sub, Confirm); err == nil {
		t.Error("no signer: no error")
	}
}
