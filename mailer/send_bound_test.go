package mailer

import (
	"context"
	"errors"
	"testing"
	"time"
)

// sendBound is how long any one send of a test may take. The sends of
// these tests finish in well under a second; a send that runs into the
// bound has hung (a lost wake-up, a worker waiting for nothing), and the
// test says so instead of stalling until go test's own timeout.
const sendBound = 60 * time.Second

var errSendHung = errors.New("test send did not finish within its bound")

// testCtx is the context for a test's sends: cancelled after sendBound,
// failing the test with a clear message if that ever happens.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeoutCause(context.Background(), sendBound, errSendHung)
	t.Cleanup(func() {
		if errors.Is(context.Cause(ctx), errSendHung) {
			t.Errorf("a send hung: it was still running after %v and was cancelled", sendBound)
		}
		cancel()
	})
	return ctx
}
