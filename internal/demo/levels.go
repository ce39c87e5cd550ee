package demo

import (
	"bytes"
	"io"
	"log/slog"
	"sync"
)

// LevelWriter passes on the slog text records at or above Min and drops
// the others, so a newcomer sees only what needs attention from a daemon
// whose loggers take no level (--verbose shows the daemon at work). slog
// handlers write one whole record per Write call; a line with no readable
// level is passed on.
type LevelWriter struct {
	mu  sync.Mutex
	W   io.Writer
	Min slog.Level
}

func (l *LevelWriter) Write(p []byte) (int, error) {
	if _, rest, ok := bytes.Cut(p, []byte("level=")); ok {
		tok, _, _ := bytes.Cut(rest, []byte(" "))
		var lv slog.Level
		if lv.UnmarshalText(tok) == nil && lv < l.Min {
			return len(p), nil
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.W.Write(p)
}
