package ops

import (
	"context"
	"log/slog"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
)

// Deps is what the service needs from the process that runs it.
type Deps struct {
	DB    *db.DB
	Links tidings.Links // the public base URL, for links in mail and previews
	Now   func() time.Time
	// Mail sends test copies (and transactional mail such as sign-in
	// links). Nil when the process has no relay: test copies then fail
	// with ErrUnavailable.
	Mail TestMailer
	// ConsoleURL is the console's public address for sign-in links, e.g.
	// https://admin.example.org/admin/ ("" = Links.Base + "/admin/").
	ConsoleURL string
	Logger     *slog.Logger
}

// TestMailer sends one test copy of an issue to addr, composed for rc (nil:
// a reader of every topic). The delivery engine implements it.
type TestMailer interface {
	SendTest(ctx context.Context, issueID int64, addr string, rc *tidings.Recipient) (messageID string, err error)
}
