package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/tidings/tidings/smtpsink"
)

// sendSubs are the sample issue's readers: articles are tagged ageing
// (1), biomed+finance (2), finance (3, 5) and space (4); nobody writes
// about "quantum".
var sendSubs = []struct{ email, topics string }{
	{"all@example.com", "all"},
	{"ageing@example.com", "ageing"},
	{"biomed@example.com", "biomed"},
	{"space@example.com", "space"},
	{"mixed@example.com", "ageing,finance"},
	{"quantum@example.com", "quantum"},
}

// sendEnv is a database with the sample issue (id 1) and sendSubs, and a
// sink as its relay.
func sendEnv(t *testing.T, o smtpsink.Options) (map[string]string, *smtpsink.Server) {
	t.Helper()
	sink, err := smtpsink.Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	env := testEnv(t)
	env["TIDINGS_SMTP_URL"] = "smtp://" + sink.Addr
	env["TIDINGS_BASE_URL"] = "https://news.example.org"
	env["TIDINGS_LOG_FORMAT"] = "text"
	seedSample(t, env)
	return env, sink
}

func seedSample(t testing.TB, env map[string]string) {
	t.Helper()
	mustRunCLI(t, env, "list", "add", "keji", "--name", "科技情报参考", "--from", "科技情报 <news@example.org>", "--lang", "zh")
	for _, tp := range [][3]string{{"ageing", "养老", "养老"}, {"biomed", "生物医药", "生物医药,医疗器械"}, {"finance", "科技金融", "金融"}, {"space", "航天", "航天"}, {"quantum", "量子", "量子计算"}} {
		mustRunCLI(t, env, "topic", "add", tp[0], "--name", tp[1], "--keywords", tp[2])
	}
	mustRunCLI(t, env, "issue", "import", "../../testdata/keji-qingbao-2024-07.md")
	for _, s := range sendSubs {
		mustRunCLI(t, env, "sub", "add", s.email, "--topics", s.topics)
	}
}

type statusOut struct {
	Issue      int64  `json:"issue"`
	Total      int    `json:"total"`
	Sent       int    `json:"sent"`
	Failed     int    `json:"failed"`
	Skipped    int    `json:"skipped"`
	Pending    int    `json:"pending"`
	Bounced    int    `json:"bounced"`
	Complained int    `json:"complained"`
	State      string `json:"state"`
	Reason     string `json:"reason"`
	Failures   []struct {
		Email    string `json:"email"`
		State    string `json:"state"`
		Kind     string `json:"kind"`
		Attempts int    `json:"attempts"`
		Reply    string `json:"reply"`
	} `json:"failures"`
	Settings *struct {
		Relays []string `json:"relays"`
		DKIM   string   `json:"dkim"`
	} `json:"settings"`
}

func readStatus(t testing.TB, env map[string]string, id string) statusOut {
	t.Helper()
	var st statusOut
	out := mustRunCLI(t, env, "status", id, "--json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	return st
}

func TestSendCommand(t *testing.T) {
	env, sink := sendEnv(t, smtpsink.Options{OnRcpt: func(_, to string) error {
		if to == "biomed@example.com" {
			return smtpsink.Reply(550, "5.1.1", "no such mailbox")
		}
		return nil
	}})
	out, errs, code := runCLI(t, env, "", "send", "1")
	if code != 0 {
		t.Fatalf("send: exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "issue 1: 4 sent, 0 failed, 1 bounced, 1 skipped (6 recipients)") {
		t.Errorf("send output %q", out)
	}
	got := map[string]string{}
	for _, m := range sink.Messages() {
		got[m.To[0]] = string(m.Data)
		if !strings.HasPrefix(m.From, "bounces+") || !strings.HasSuffix(m.From, "@example.org") {
			t.Errorf("return path %q", m.From)
		}
	}
	for _, s := range sendSubs {
		_, ok := got[s.email]
		if want := s.topics != "quantum" && s.topics != "biomed"; ok != want {
			t.Errorf("%s received: %v, want %v", s.email, ok, want)
		}
	}
	st := readStatus(t, env, "1")
	if st.Issue != 1 || st.Total != 6 || st.Sent != 4 || st.Bounced != 1 || st.Skipped != 1 || st.Pending != 0 || st.State != "done" {
		t.Errorf("status %+v", st)
	}
	if len(st.Failures) != 1 || st.Failures[0].Email != "biomed@example.com" || st.Failures[0].Kind != "recipient" || !strings.Contains(st.Failures[0].Reply, "550 5.1.1") {
		t.Errorf("failures %+v", st.Failures)
	}
	// The settings the send went out with: the relay, no key.
	if st.Settings == nil || len(st.Settings.Relays) != 1 || !strings.Contains(st.Settings.Relays[0], "127.0.0.1") || st.Settings.DKIM != "none" {
		t.Errorf("status settings %+v", st.Settings)
	}
	text := mustRunCLI(t, env, "status", "1")
	if !strings.Contains(text, "issue 1: done") || !strings.Contains(text, "biomed@example.com") || !strings.Contains(text, "550 5.1.1") ||
		!strings.Contains(text, "settings: relays smtp://127.0.0.1:") || !strings.Contains(text, "DKIM none; rate no limit") {
		t.Errorf("status text:\n%s", text)
	}
	if show := mustRunCLI(t, env, "issue", "show", "1", "--json"); !strings.Contains(show, `"status": "sent"`) {
		t.Errorf("issue not marked sent: %s", show)
	}
	if sub := mustRunCLI(t, env, "sub", "show", "biomed@example.com", "--json"); !strings.Contains(sub, "bounced") {
		t.Errorf("hard bounce did not mark the subscription: %s", sub)
	}
	// Sending again sends nothing more.
	mustRunCLI(t, env, "send", "1")
	if sink.Count() != 4 {
		t.Errorf("second send: sink has %d", sink.Count())
	}
}

func TestSendDryRunAndTestTo(t *testing.T) {
	env, sink := sendEnv(t, smtpsink.Options{})
	out := mustRunCLI(t, env, "send", "1", "--dry-run")
	for _, want := range []string{"5 messages would be sent, 1 skipped", "ageing,finance", "quantum"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	var dry struct {
		Messages     int `json:"messages"`
		Combinations []struct {
			Key        string `json:"key"`
			Articles   int    `json:"articles"`
			Recipients int    `json:"recipients"`
		} `json:"combinations"`
	}
	if err := json.Unmarshal([]byte(mustRunCLI(t, env, "send", "1", "--dry-run", "--json")), &dry); err != nil {
		t.Fatal(err)
	}
	arts := map[string]int{}
	for _, c := range dry.Combinations {
		arts[c.Key] = c.Articles
	}
	if dry.Messages != 5 || arts["ageing,finance"] != 4 || arts["space"] != 1 || arts["quantum"] != 0 {
		t.Errorf("dry run %+v", dry)
	}
	if sink.Count() != 0 || readStatus(t, env, "1").Total != 0 {
		t.Fatal("dry run sent or logged something")
	}

	out = mustRunCLI(t, env, "send", "1", "--test-to", "editor@example.net", "--as", "space@example.com")
	if !strings.Contains(out, "editor@example.net") {
		t.Errorf("test send output %q", out)
	}
	mustRunCLI(t, env, "send", "1", "--test-to", "editor@example.net")
	msgs := sink.Messages()
	if len(msgs) != 2 || msgs[0].To[0] != "editor@example.net" || msgs[1].To[0] != "editor@example.net" {
		t.Fatalf("test messages %+v", msgs)
	}
	if len(msgs[0].Data) >= len(msgs[1].Data) {
		t.Errorf("the copy as a space reader (%d bytes) should be shorter than the all-topics one (%d)", len(msgs[0].Data), len(msgs[1].Data))
	}
	if st := readStatus(t, env, "1"); st.Total != 0 || st.State != "" {
		t.Errorf("test sends were logged: %+v", st)
	}
	if show := mustRunCLI(t, env, "issue", "show", "1", "--json"); !strings.Contains(show, `"status": "draft"`) {
		t.Errorf("a test send changed the issue status: %s", show)
	}
}

func TestSendBadInput(t *testing.T) {
	env, _ := sendEnv(t, smtpsink.Options{})
	noRelay := map[string]string{"TIDINGS_DB": env["TIDINGS_DB"]}
	badRelay := map[string]string{"TIDINGS_DB": env["TIDINGS_DB"], "TIDINGS_SMTP_URL": "smtp://u:topsecret@mail.example.org?tls=none"}
	cases := []struct {
		env  map[string]string
		args []string
		code int
		msg  string
	}{
		{env, []string{"send"}, 2, "want ID"},
		{env, []string{"send", "x"}, 2, `issue id "x"`},
		{env, []string{"send", "99"}, 1, "issue 99"},
		{env, []string{"status", "99"}, 1, "issue 99"},
		{env, []string{"status", "0"}, 2, "issue id"},
		{env, []string{"send", "1", "--as", "all@example.com"}, 2, "--as needs --test-to"},
		{env, []string{"send", "1", "--test-to", "not-an-address"}, 2, "not-an-address"},
		{env, []string{"send", "1", "--test-to", "e@example.net", "--as", "stranger@example.com"}, 1, "stranger@example.com"},
		{noRelay, []string{"send", "1"}, 2, "no SMTP relay"},
		{badRelay, []string{"send", "1"}, 2, "cleartext"},
		{env, []string{"send", "1", "--dkim-key", "/nonexistent.pem", "--dkim-selector", "s"}, 2, "/nonexistent.pem"},
		{env, []string{"dkim", "keygen"}, 2, "--selector"},
		{env, []string{"dkim", "keygen", "--selector", "s", "--type", "dsa", "--out", filepath.Join(t.TempDir(), "k.pem")}, 2, "dsa"},
	}
	for _, tc := range cases {
		out, errs, code := runCLI(t, tc.env, "", tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.msg) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q (stdout %q)", tc.args, code, errs, tc.code, tc.msg, out)
		}
		if strings.Contains(errs, "topsecret") {
			t.Errorf("%v: password in stderr %q", tc.args, errs)
		}
	}
}

func TestSendPausesOnAuthFailureAndResumes(t *testing.T) {
	env, sink := sendEnv(t, smtpsink.Options{Users: map[string]string{"news": "right"}})
	env["TIDINGS_SMTP_URL"] = "smtp://news:wrong-pw@" + sink.Addr
	out, errs, code := runCLI(t, env, "", "send", "1")
	if code != 1 || !strings.Contains(errs, "paused") || !strings.Contains(errs, "535") || !strings.Contains(errs, "tidings send 1") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if strings.Contains(errs, "wrong-pw") {
		t.Errorf("password leaked: %s", errs)
	}
	st := readStatus(t, env, "1")
	if st.State != "paused" || !strings.Contains(st.Reason, "535") || st.Pending != 5 || sink.Count() != 0 {
		t.Errorf("status %+v, sink %d", st, sink.Count())
	}
	env["TIDINGS_SMTP_URL"] = "smtp://news:right@" + sink.Addr
	mustRunCLI(t, env, "send", "1")
	if st := readStatus(t, env, "1"); st.State != "done" || st.Sent != 5 || sink.Count() != 5 {
		t.Errorf("after resume: %+v, sink %d", st, sink.Count())
	}
}

func TestDKIMKeygenAndSignedSend(t *testing.T) {
	env, sink := sendEnv(t, smtpsink.Options{})
	dir := t.TempDir()
	key := filepath.Join(dir, "s2024.pem")
	out := mustRunCLI(t, env, "dkim", "keygen", "--selector", "s2024", "--type", "ed25519", "--out", key)
	fi, err := os.Stat(key)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", err, fi)
	}
	// The database holds one list: its From domain names the record.
	m := regexp.MustCompile(`s2024\._domainkey\.example\.org\. IN TXT \( "(v=DKIM1; k=ed25519; p=[^"]+)" \)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("keygen output:\n%s", out)
	}
	if _, errs, code := runCLI(t, env, "", "dkim", "keygen", "--selector", "s2024", "--out", key); code != 1 || !strings.Contains(errs, "exists") {
		t.Errorf("overwrote an existing key: exit %d %s", code, errs)
	}
	mustRunCLI(t, env, "send", "1", "--dkim-key", key, "--dkim-selector", "s2024")
	lookup := func(domain string) ([]string, error) {
		if domain == "s2024._domainkey.example.org" {
			return []string{m[1]}, nil
		}
		return nil, fmt.Errorf("no record %s", domain)
	}
	for _, msg := range sink.Messages() {
		vs, err := dkim.VerifyWithOptions(bytes.NewReader(msg.Data), &dkim.VerifyOptions{LookupTXT: lookup})
		if err != nil || len(vs) != 1 || vs[0].Err != nil {
			t.Errorf("%s: %v %+v", msg.To, err, vs)
		}
	}
	if sink.Count() != 5 {
		t.Errorf("sink %d", sink.Count())
	}
}
