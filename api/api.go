// Package api serves the JSON API under /api/v1: every operation of
// package ops over HTTP, authenticated by bearer tokens, with errors as
// RFC 9457 problem details and an OpenAPI 3.1 document that tests keep
// true to the routes.
package api

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/tidings/tidings/ops"
)

// Config is what the API needs from the process that serves it.
type Config struct {
	Ops    *ops.Service
	Logger *slog.Logger
	Now    func() time.Time
}

// New returns the handler of /api/v1/…; mount it at "/api/v1/".
func New(c Config) http.Handler {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	mux := http.NewServeMux()
	return mux
}
