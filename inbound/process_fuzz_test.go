package inbound

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/tidings/tidings/render"
)

type discardSender struct{}

func (discardSender) SendMail(context.Context, string, []string, []byte) error { return nil }

// FuzzProcess feeds arbitrary messages to every path of the Processor —
// a VERP address, a subscribe address and a mailbox (no envelope
// recipient) — on a real database. Hostile input may be ignored but must
// never panic or fail with anything but "not ours". The seed corpus is
// testdata's fixtures; run longer with
//
//	go test ./inbound/ -run '^$' -fuzz FuzzProcess -fuzztime 30s
func FuzzProcess(f *testing.F) {
	e := newEnv(f)
	names, err := filepath.Glob(filepath.Join("testdata", "*.eml"))
	if err != nil || len(names) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	for _, n := range names {
		f.Add(e.fixture(filepath.Base(n)))
	}
	f.Add([]byte("Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n--x\r\nContent-Type: message/delivery-status\r\n\r\n:\r\n\r\nAction: failed\r\nStatus: 5.\r\n--x--"))
	f.Add([]byte{})
	f.Add(nestedUnclosed(e.verp(e.issue), 20, true))
	proc, err := New(Config{DB: e.d, Signer: e.signer, Directory: e.store, Now: e.clock.Now,
		Confirmer: confirmer{store: e.store, r: &render.Renderer{Signer: e.signer, Now: e.clock.Now}},
		Sender:    discardSender{}, ReplyLimit: 1 << 30})
	if err != nil {
		f.Fatal(err)
	}
	verp := e.verp(e.issue)
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, rcpt := range []string{verp, "keji+subscribe@news.example.org", ""} {
			res, err := proc.ProcessEnvelope(context.Background(), Envelope{Rcpt: rcpt}, raw)
			if err != nil {
				if rcpt == "" && (errors.Is(err, ErrNoRecipient) || errors.Is(err, ErrNotOurs)) {
					continue
				}
				t.Fatalf("rcpt %q: %v", rcpt, err)
			}
			switch res.Action {
			case ActionBounce:
				if (res.Kind != KindHard && res.Kind != KindSoft) || res.Code == "" {
					t.Fatalf("rcpt %q: bounce without kind or code: %+v", rcpt, res)
				}
			case ActionComplaint, ActionUnsubscribe, ActionSubscribe, ActionLeave, ActionIgnored, ActionDuplicate:
			default:
				t.Fatalf("rcpt %q: unknown action %+v", rcpt, res)
			}
		}
	})
}
