package main

import (
	"strings"
	"testing"
)

// A real send without a base URL would mail links to nowhere (or to
// localhost): refused before anything is sent. A dry run needs none.
func TestSendNeedsBaseURL(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		errs string
	}{
		{"missing", map[string]string{"TIDINGS_SMTP_URL": "smtp://127.0.0.1:1?tls=none"}, []string{"send", "1"}, 2, "no base URL"},
		{"test copy too", map[string]string{"TIDINGS_SMTP_URL": "smtp://127.0.0.1:1?tls=none"}, []string{"send", "1", "--test-to", "ed@example.org"}, 2, "no base URL"},
		{"malformed", map[string]string{"TIDINGS_SMTP_URL": "smtp://127.0.0.1:1?tls=none", "TIDINGS_BASE_URL": "news.example.org"}, []string{"send", "1"}, 2, `base URL "news.example.org"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(t)
			for k, v := range tc.env {
				env[k] = v
			}
			_, stderr, code := runCLI(t, env, "", tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.errs) {
				t.Fatalf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr, tc.code, tc.errs)
			}
		})
	}
}
