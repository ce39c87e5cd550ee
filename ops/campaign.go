package ops

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/issues"
	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/render"
	"github.com/tidings/tidings/subscribers"
	"github.com/tidings/tidings/token"
	"github.com/tidings/tidings/track"
)

// Compile-time checks of the wiring between packages.
var (
	_ mailer.Recipients = (*subscribers.Store)(nil)
	_ mailer.Campaigns  = campaigns{}
	_ mailer.Composer   = editionComposer{}
)

// Campaigns prepares issues for the delivery engine: the issue with its
// articles, its list and topics, and a render.Edition that composes each
// recipient's message (encoded parts cached per topic combination). The
// CLI's send, serve and demo build their engine with it, and previews
// and test copies here compose through the same code, so what an editor
// sees is what is sent.
func Campaigns(d *db.DB, links tidings.Links, now func() time.Time) mailer.Campaigns {
	if now == nil {
		now = time.Now
	}
	return campaigns{d: d, links: links, now: now}
}

type campaigns struct {
	d     *db.DB
	links tidings.Links
	now   func() time.Time
}

// edition is an issue ready to compose, with what it was made from.
type edition struct {
	issue  *tidings.Issue
	list   *tidings.List
	topics []tidings.Topic
	ed     *render.Edition
}

// prepare loads the issue, its list and topics and prepares the edition.
func (c campaigns) prepare(ctx context.Context, issueID int64) (*edition, error) {
	is, err := issues.NewStore(c.d).Get(ctx, issueID)
	if err != nil {
		if errors.Is(err, issues.ErrNotFound) {
			return nil, fmt.Errorf("issue %d: %w", issueID, mailer.ErrNotFound)
		}
		return nil, err
	}
	ss := subscribers.NewStore(c.d)
	l, err := ss.ListByID(ctx, is.ListID)
	if err != nil {
		return nil, err
	}
	topics, err := ss.PublicTopics(ctx, l.ID)
	if err != nil {
		return nil, err
	}
	secret, err := c.d.Secret(ctx)
	if err != nil {
		return nil, err
	}
	signer := token.New(secret)
	signer.Now = c.now
	r := &render.Renderer{Links: c.links, Signer: signer, Now: c.now, Track: track.NewSigner(secret)}
	ed, err := r.Prepare(l, topics, is)
	if err != nil {
		return nil, fmt.Errorf("issue %d: %w", issueID, err)
	}
	// the redirect finds tracked links' targets here (package track)
	if err := track.Register(ctx, c.d, ed.TrackPlan()); err != nil {
		return nil, err
	}
	return &edition{issue: is, list: l, topics: topics, ed: ed}, nil
}

func (c campaigns) Campaign(ctx context.Context, issueID int64) (*mailer.Campaign, error) {
	e, err := c.prepare(ctx, issueID)
	if err != nil {
		return nil, err
	}
	l := e.list
	// The list's own DKIM key, when it has one, signs its mail in every
	// process; the process key (--dkim-key) signs the other lists.
	key, err := mailer.ListDKIM(l.DKIMSelector, l.DKIMKey)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", l.Slug, err)
	}
	return &mailer.Campaign{IssueID: e.issue.ID, ListID: l.ID, List: l.Slug, Domain: l.Domain(), Composer: editionComposer{e.ed}, DKIM: key}, nil
}

// editionComposer adapts render.Edition to mailer.Composer, so that
// mailer does not import render.
type editionComposer struct{ e *render.Edition }

func (c editionComposer) Combination(rc tidings.Recipient) (string, int) { return c.e.Combination(rc) }

func (c editionComposer) Compose(w io.Writer, rc tidings.Recipient, o mailer.ComposeOptions) (string, error) {
	mi, err := c.e.WriteMessage(w, rc, render.MessageOptions{To: o.To, Test: o.Test})
	return mi.MessageID, err
}

func (c editionComposer) ReturnPath(rc tidings.Recipient) string { return c.e.ReturnPath(rc) }
