// Package console is the editors' and admins' web console at /admin/:
// server-rendered pages over package ops (sign-in, lists, issues, tagging,
// audience, preview, test copies, schedules, sends, subscribers, users,
// tokens, the audit log). Pages work without JavaScript; a small script
// only makes them livelier.
package console

import (
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/tidings/tidings/ops"
)

// Config is what the console needs from its host.
type Config struct {
	Ops            *ops.Service
	Logger         *slog.Logger
	Now            func() time.Time
	SecureCookies  bool     // mark the session cookie Secure (behind https)
	TrustedOrigins []string // extra origins allowed to POST (e.g. "https://admin.example.org")
}

// ErrConfig is a console configuration that cannot work.
var ErrConfig = errors.New("console: bad configuration")

// New returns the console's handler; mount it at /admin/.
func New(cfg Config) (http.Handler, error) {
	if cfg.Ops == nil {
		return nil, errors.Join(ErrConfig, errors.New("Ops is required"))
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/admin/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "console coming soon", http.StatusServiceUnavailable)
	})
	return mux, nil
}
