package demo

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestLevelWriter: the demo's log filter drops the daemon's routine
// lines (the engine's "sending"/"send finished") and passes warnings and
// errors, and everything at --verbose.
func TestLevelWriter(t *testing.T) {
	for _, tc := range []struct {
		min  slog.Level
		want []string
		drop []string
	}{
		{slog.LevelWarn, []string{"relay taken out", "send failed"}, []string{"sending", "send finished", "detail"}},
		{slog.LevelInfo, []string{"sending", "send finished", "relay taken out", "send failed"}, []string{"detail"}},
	} {
		var out bytes.Buffer
		log := slog.New(slog.NewTextHandler(&LevelWriter{W: &out, Min: tc.min}, &slog.HandlerOptions{Level: slog.LevelDebug}))
		log.Debug("detail")
		log.Info("sending", "issue", 1, "note", "level=ERROR inside a value")
		log.Info("send finished", "issue", 1)
		log.Warn("relay taken out", "relay", "smtp://127.0.0.1:25")
		log.Error("send failed", "err", "boom")
		got := out.String()
		for _, w := range tc.want {
			if !strings.Contains(got, "msg=\""+w+"\"") && !strings.Contains(got, "msg="+w+" ") {
				t.Errorf("min %v: %q dropped:\n%s", tc.min, w, got)
			}
		}
		for _, d := range tc.drop {
			if strings.Contains(got, "msg=\""+d+"\"") || strings.Contains(got, "msg="+d+" ") {
				t.Errorf("min %v: %q passed:\n%s", tc.min, d, got)
			}
		}
	}
}
