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

// A name nobody has confirmed must not travel: a stranger could otherwise
// mail their own text to any address through the subscribe form. A name
// with line breaks (from an admin import, say) must not add headers. And
// the salutation reads naturally in each language.
func TestTransactionalNameAndGreeting(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	signer := token.New([]byte("0123456789abcdef0123456789abcdef"))
	r := &Renderer{Links: tidings.Links{Base: "https://news.example.org"}, Signer: signer, Now: func() time.Time { return now }}
	en := &tidings.List{ID: 3, Slug: "weekly", Name: "Tidings Weekly", From: "Tidings Weekly <news@example.org>", Lang: tidings.LangEN, TZ: "UTC"}
	zh := &tidings.List{ID: 4, Slug: "keji", Name: "科技情报参考", From: "科技情报 <keji@example.cn>", Lang: tidings.LangZH, TZ: "Asia/Shanghai"}
	spam := "WIN BIG at spam.example"
	cases := []struct {
		name   string
		list   *tidings.List
		kind   ConfirmKind
		sub    string
		want   []string // in the text part
		reject []string // nowhere in the raw message or the decoded parts
	}{
		{"confirm en drops the name", en, Confirm, spam, []string{"Hello,"}, []string{spam, "spam.example"}},
		{"confirm zh drops the name", zh, Confirm, "点击领奖 spam.example", []string{"您好："}, []string{"领奖", "spam.example"}},
		{"manage en keeps the confirmed name", en, Manage, "Ada", []string{"Hello Ada,"}, nil},
		{"manage zh salutation", zh, Manage, "李雷", []string{"李雷，您好："}, []string{"您好 李雷"}},
		{"line breaks add no header", en, Manage, "Ada\r\nBcc: evil@example.com", nil, []string{"\nBcc:", "\r\nBcc:"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sub := tidings.Subscriber{ID: 7, Email: "reader@example.net", Name: c.sub,
				Subscriptions: []tidings.Subscription{{ListID: c.list.ID, AllTopics: true}}}
			msg, _, err := r.ConfirmationMailTTL(c.list, nil, sub, c.kind, time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			env, err := enmime.ReadEnvelope(bytes.NewReader(msg))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				if !strings.Contains(env.Text, w) {
					t.Errorf("text lacks %q:\n%s", w, env.Text)
				}
			}
			all := string(msg) + env.Text + env.HTML + env.GetHeader("To")
			for _, bad := range c.reject {
				if strings.Contains(all, bad) {
					t.Errorf("message carries %q:\nTo: %s\n%s", bad, env.GetHeader("To"), env.Text)
				}
			}
			if env.GetHeader("Bcc") != "" || len(env.Root.Header.Values("To")) != 1 {
				t.Errorf("headers injected: Bcc %q, To %q", env.GetHeader("Bcc"), env.Root.Header.Values("To"))
			}
		})
	}
}
