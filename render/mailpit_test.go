package render

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/smtp"
	"testing"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/internal/testpeers"
)

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// The all-topics sample, delivered to Mailpit, passes its HTML check:
// at least 85% of the features it uses are supported by the clients
// Mailpit knows, at most 3% unsupported.
func TestMailpitHTMLCheck(t *testing.T) {
	mp := testpeers.StartMailpit(t, testpeers.MailpitOptions{})
	smtpAddr, api := mp.SMTP, mp.API
	cases := []struct {
		name string
		e    *Edition
	}{
		{"keji (zh)", prepare(t, zhList(), zhTopics(), sampleIssue(t))},
		{"weekly (en)", prepare(t, enList(), enTopics(), enIssue())},
	}
	for _, c := range cases {
		rc := tidings.Recipient{SubscriberID: 1, Email: "reader@example.net", Name: "读者", AllTopics: true}
		raw, _ := writeMessage(t, c.e, rc, MessageOptions{})
		if err := smtp.SendMail(smtpAddr, nil, c.e.ReturnPath(rc), []string{rc.Email}, raw); err != nil {
			t.Fatalf("%s: send: %v", c.name, err)
		}
		var list struct {
			Messages []struct {
				ID        string
				MessageID string
			}
		}
		getJSON(t, api+"/api/v1/messages", &list)
		id := ""
		for _, m := range list.Messages {
			if "<"+m.MessageID+">" == c.e.MessageID(rc) {
				id = m.ID
			}
		}
		if id == "" {
			t.Fatalf("%s: message not in mailpit: %+v", c.name, list)
		}
		var msg struct {
			HTML, Text      string
			ListUnsubscribe struct {
				Header, HeaderPost string
				Links              []string
				Errors             string
			}
		}
		getJSON(t, api+"/api/v1/message/"+id, &msg)
		want, _ := c.e.HTML(rc)
		if msg.HTML != string(bytes.ReplaceAll(want, []byte("\r\n"), []byte("\n"))) && msg.HTML != string(want) {
			t.Errorf("%s: mailpit's HTML differs from HTML()", c.name)
		}
		if msg.ListUnsubscribe.Errors != "" || len(msg.ListUnsubscribe.Links) != 2 || msg.ListUnsubscribe.HeaderPost == "" {
			t.Errorf("%s: mailpit's List-Unsubscribe check: %+v", c.name, msg.ListUnsubscribe)
		}
		var check struct {
			Total struct {
				Supported, Partial, Unsupported float64
				Tests                           int
				Nodes                           int
			}
			Warnings []struct {
				Title    string
				Category string
				Score    struct {
					Found                           int
					Supported, Partial, Unsupported float64
				}
			}
		}
		getJSON(t, api+"/api/v1/message/"+id+"/html-check", &check)
		tot := check.Total
		t.Logf("%s: Mailpit HTML check: supported %.2f%%, partial %.2f%%, unsupported %.2f%% (%d tests)", c.name, tot.Supported, tot.Partial, tot.Unsupported, tot.Tests)
		for _, w := range check.Warnings {
			if w.Score.Unsupported > 0 || w.Score.Partial > 0 {
				t.Logf("  %s (%s): found %d, supported %.0f%%, partial %.0f%%, unsupported %.0f%%", w.Title, w.Category, w.Score.Found, w.Score.Supported, w.Score.Partial, w.Score.Unsupported)
			}
		}
		if tot.Supported < 85 || tot.Unsupported > 3 {
			t.Errorf("%s: HTML check supported %.2f%% (want ≥ 85), unsupported %.2f%% (want ≤ 3)", c.name, tot.Supported, tot.Unsupported)
		}
	}
}
