package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/tidings/tidings/smtpsink"
)

// TestAdminURLDefaultsToBaseURLOnOneListener: when the console shares the
// reader listener (--admin-http equal to --http), it is reached at the
// public --base-url, so sign-in links point there and, behind https, the
// session cookie is Secure. On a listener of its own it stays
// http:// + --admin-http; --admin-url always wins.
func TestAdminURLDefaultsToBaseURLOnOneListener(t *testing.T) {
	cases := []struct {
		admin, adminURL, want string
	}{
		{"127.0.0.1:8080", "", "https://news.example.org/admin/link/"},
		{"localhost:8080", "", "https://news.example.org/admin/link/"},
		{"127.0.0.1:8081", "", "http://127.0.0.1:8081/admin/link/"},
		{"127.0.0.1:8080", "https://admin.example.org", "https://admin.example.org/admin/link/"},
	}
	for i, c := range cases {
		env := testEnv(t)
		env["TIDINGS_BASE_URL"] = "https://news.example.org/"
		env["TIDINGS_HTTP"] = "127.0.0.1:8080"
		env["TIDINGS_ADMIN_HTTP"] = c.admin
		if c.adminURL != "" {
			env["TIDINGS_ADMIN_URL"] = c.adminURL
		}
		out := mustRunCLI(t, env, "user", "add", "ed@example.org", "--role", "editor")
		if !strings.Contains(out, c.want) {
			t.Errorf("case %d (--admin-http %s, --admin-url %q): link not under %s:\n%s", i, c.admin, c.adminURL, c.want, out)
		}
	}

	// The cookie of a console on the https reader listener is Secure.
	sink, err := smtpsink.Start(smtpsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	a, env, _ := daemonApp(t, sink)
	if _, errs, code := runCLI(t, env, "correct horse battery\n", "user", "add", "ann@example.org", "--role", "admin", "--password-stdin"); code != 0 {
		t.Fatalf("user add: %s", errs)
	}
	a.cfg.BaseURL, a.cfg.HTTPAddr, a.cfg.AdminHTTP = "https://news.example.org", "127.0.0.1:8080", "127.0.0.1:8080"
	h, err := a.adminMux(context.Background(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{"email": {"ann@example.org"}, "password": {"correct horse battery"}}
	req := httptest.NewRequest("POST", "https://news.example.org/admin/signin", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var session *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == "tidings_session" && c.Value != "" {
			session = c
		}
	}
	if rec.Code != http.StatusSeeOther || session == nil || !session.Secure {
		t.Errorf("sign-in on the shared https listener: %d, cookie %+v; want a Secure session cookie", rec.Code, session)
	}
}
