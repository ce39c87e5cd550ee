package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/smtpsink"
)

// txtOf joins the quoted strings of a zone line printed by dkim keygen.
func txtOf(t *testing.T, out string) string {
	t.Helper()
	var b strings.Builder
	for _, m := range regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(out, -1) {
		b.WriteString(m[1])
	}
	if !strings.HasPrefix(b.String(), "v=DKIM1;") {
		t.Fatalf("no TXT record in:\n%s", out)
	}
	return b.String()
}

func listKey(t *testing.T, dbPath, slug string) (selector, key string) {
	t.Helper()
	d, err := db.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.R.QueryRow(`SELECT dkim_selector, dkim_key FROM lists WHERE slug = ?`, slug).Scan(&selector, &key); err != nil {
		t.Fatal(err)
	}
	return selector, key
}

// A list's own key: `dkim keygen --domain D --attach` stores a new key
// with the lists of D, `list set --dkim-key/--dkim-selector` sets or
// removes one, bad input is refused before anything is stored, the key
// never shows in listings, exports or logs, and `tidings send` without a
// process key signs the list's mail with it (d= the From domain).
func TestListDKIMKey(t *testing.T) {
	env := testEnv(t)
	dir := t.TempDir()
	mustRunCLI(t, env, "list", "add", "keji", "--name", "科技情报", "--from", "科技情报 <news@example.org>", "--lang", "zh")
	mustRunCLI(t, env, "list", "add", "other", "--name", "Other", "--from", "Other <hi@example.net>")

	// Refusals: nothing written, nothing stored.
	bad := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"dkim", "keygen", "--selector", "s1", "--attach", "--out", filepath.Join(dir, "x.pem")}, 2, "--attach needs --domain"},
		{[]string{"dkim", "keygen", "--selector", "s1", "--domain", "nolist.example", "--attach", "--out", filepath.Join(dir, "y.pem")}, 1, "no list sends from nolist.example"},
		{[]string{"list", "set", "other", "--dkim-selector", "s2"}, 2, "--dkim-selector without --dkim-key"},
		{[]string{"list", "set", "other", "--dkim-key", writeTestFile(t, "bad.pem", []byte("not a key")), "--dkim-selector", "s2"}, 2, "bad.pem"},
		{[]string{"list", "set", "other", "--dkim-key", filepath.Join(dir, "missing.pem"), "--dkim-selector", "s2"}, 1, "missing.pem"},
		{[]string{"list", "set", "other", "--dkim-key", "", "--dkim-selector", "s2"}, 2, "removes"},
	}
	for _, c := range bad {
		_, errs, code := runCLI(t, env, "", c.args...)
		first, _, _ := strings.Cut(errs, "\n")
		if code != c.code || !strings.Contains(first, c.want) {
			t.Errorf("tidings %s: exit %d, stderr %q; want exit %d and a first line with %q", strings.Join(c.args, " "), code, errs, c.code, c.want)
		}
	}
	for _, f := range []string{"x.pem", "y.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("a refused keygen wrote %s", f)
		}
	}
	if sel, key := listKey(t, env["TIDINGS_DB"], "other"); sel != "" || key != "" {
		t.Fatalf("refused input stored a key: %q", sel)
	}

	// keygen --attach: the lists of example.org get the key, others not.
	keyFile := filepath.Join(dir, "s1.pem")
	out := mustRunCLI(t, env, "dkim", "keygen", "--selector", "s1", "--domain", "example.org", "--attach", "--out", keyFile)
	if !strings.Contains(out, "attached the key to the lists of example.org: keji") {
		t.Errorf("keygen output:\n%s", out)
	}
	txt := txtOf(t, out)
	pemKey, _ := os.ReadFile(keyFile)
	if sel, key := listKey(t, env["TIDINGS_DB"], "keji"); sel != "s1" || key != string(pemKey) {
		t.Errorf("keji's key: selector %q, key stored %v", sel, key == string(pemKey))
	}
	if _, key := listKey(t, env["TIDINGS_DB"], "other"); key != "" {
		t.Error("a list of another domain got the key")
	}
	// Confirmation mail finds the same key by its domain.
	{
		d, err := db.Open(context.Background(), env["TIDINGS_DB"])
		if err != nil {
			t.Fatal(err)
		}
		k, err := listKeyOf(context.Background(), d, "example.org")
		if err != nil || k == nil || k.Selector != "s1" {
			t.Errorf("listKeyOf(example.org) = %+v, %v", k, err)
		}
		if k, err := listKeyOf(context.Background(), d, "example.net"); err != nil || k != nil {
			t.Errorf("listKeyOf(example.net) = %+v, %v", k, err)
		}
		d.Close()
	}
	// Without --attach, keygen names the lists it could go with.
	out = mustRunCLI(t, env, "dkim", "keygen", "--selector", "s9", "--domain", "example.net", "--out", filepath.Join(dir, "s9.pem"))
	if !strings.Contains(out, "lists of example.net: other") {
		t.Errorf("keygen without --attach:\n%s", out)
	}

	// list set sets and removes a key.
	k2, _, _ := mailer.GenerateDKIMKey("ed25519")
	mustRunCLI(t, env, "list", "set", "other", "--dkim-key", writeTestFile(t, "k2.pem", k2), "--dkim-selector", "s2")
	if sel, key := listKey(t, env["TIDINGS_DB"], "other"); sel != "s2" || key != string(k2) {
		t.Errorf("list set stored %q", sel)
	}
	mustRunCLI(t, env, "list", "set", "other", "--dkim-key", "")
	if sel, key := listKey(t, env["TIDINGS_DB"], "other"); sel != "" || key != "" {
		t.Errorf("list set --dkim-key \"\" left %q", sel)
	}

	// The list's key signs its mail without any process key.
	for _, a := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		mustRunCLI(t, env, "sub", "add", a, "--list", "keji")
	}
	mustRunCLI(t, env, "issue", "import", "../../testdata/keji-qingbao-2024-07.md", "--list", "keji")
	sink, err := smtpsink.Start(smtpsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	env["TIDINGS_SMTP_URL"] = "smtp://" + sink.Addr
	env["TIDINGS_BASE_URL"] = "https://news.example.org"
	sendOut, sendErr, code := runCLI(t, env, "", "send", "1")
	if code != 0 {
		t.Fatalf("send: exit %d: %s", code, sendErr)
	}
	if sink.Count() == 0 {
		t.Fatal("nothing sent")
	}
	for _, m := range sink.Messages() {
		vs, err := dkim.VerifyWithOptions(bytes.NewReader(m.Data), &dkim.VerifyOptions{LookupTXT: func(name string) ([]string, error) {
			if name == "s1._domainkey.example.org" {
				return []string{txt}, nil
			}
			return nil, fmt.Errorf("no record %s", name)
		}})
		if err != nil || len(vs) != 1 || vs[0].Err != nil || vs[0].Domain != "example.org" {
			t.Errorf("message to %s: %v %+v", m.To[0], err, vs)
		}
	}

	// The key never leaves through listings, exports or logs.
	listJSON := mustRunCLI(t, env, "list", "ls", "--json")
	export := mustRunCLI(t, env, "sub", "export", "--list", "keji")
	secret := strings.Split(strings.TrimSpace(string(pemKey)), "\n")[1] // a line of the key's base64
	for name, s := range map[string]string{"list ls --json": listJSON, "sub export": export, "send output": sendOut + sendErr} {
		if strings.Contains(s, "PRIVATE KEY") || strings.Contains(s, secret) {
			t.Errorf("%s shows the private key", name)
		}
	}
}
