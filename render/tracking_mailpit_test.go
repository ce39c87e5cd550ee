package render

import (
	"fmt"
	"net/smtp"
	"strings"
	"testing"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/internal/testpeers"
)

// With clicks and opens tracked (rewritten links, the hidden honeypot,
// the 1×1 image), Mailpit's HTML check still finds at least 85% of the
// message's features supported and at most 3% unsupported.
func TestMailpitHTMLCheckTracked(t *testing.T) {
	mp := testpeers.StartMailpit(t, testpeers.MailpitOptions{})
	zh := sampleIssue(t)
	for i := range zh.Articles {
		zh.Articles[i].Body += fmt.Sprintf("\n\n[原文](https://source.example.cn/a/%d)", i+1)
	}
	zl, el := zhList(), enList()
	zl.Opens, el.Opens = tidings.TrackAggregate, tidings.TrackIndividual
	r := trackedRenderer()
	ze, err := r.Prepare(zl, zhTopics(), zh)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		e    *Edition
	}{
		{"keji (zh), tracked", ze},
		{"weekly (en), tracked", prepareWith(t, r, el, trackedIssue())},
	}
	for _, c := range cases {
		rc := tidings.Recipient{SubscriberID: 1, Email: "reader@example.net", Name: "读者", AllTopics: true}
		raw, _ := writeMessage(t, c.e, rc, MessageOptions{})
		if !strings.Contains(string(parseMessage(t, raw).html), "/o/") {
			t.Fatalf("%s: no open image", c.name)
		}
		if err := smtp.SendMail(mp.SMTP, nil, c.e.ReturnPath(rc), []string{rc.Email}, raw); err != nil {
			t.Fatalf("%s: send: %v", c.name, err)
		}
		var list struct {
			Messages []struct{ ID, MessageID string }
		}
		getJSON(t, mp.API+"/api/v1/messages", &list)
		id := ""
		for _, m := range list.Messages {
			if "<"+m.MessageID+">" == c.e.MessageID(rc) {
				id = m.ID
			}
		}
		if id == "" {
			t.Fatalf("%s: message not in mailpit", c.name)
		}
		var check struct {
			Total struct {
				Supported, Partial, Unsupported float64
				Tests                           int
			}
		}
		getJSON(t, mp.API+"/api/v1/message/"+id+"/html-check", &check)
		tot := check.Total
		t.Logf("%s: Mailpit HTML check: supported %.2f%%, partial %.2f%%, unsupported %.2f%% (%d tests)", c.name, tot.Supported, tot.Partial, tot.Unsupported, tot.Tests)
		if tot.Supported < 85 || tot.Unsupported > 3 {
			t.Errorf("%s: HTML check supported %.2f%% (want ≥ 85), unsupported %.2f%% (want ≤ 3)", c.name, tot.Supported, tot.Unsupported)
		}
	}
}
