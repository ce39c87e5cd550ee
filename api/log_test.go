package api

import (
	"io"
	"log/slog"
)

// newTestLogger logs to w, so that a test can show the server's log when
// an answer is a 500.
func newTestLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
