package ops

import (
	"context"
	"errors"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/inbound"
	"github.com/tidings/tidings/render"
	"github.com/tidings/tidings/subscribers"
)

var _ inbound.Confirmer = (*Confirmer)(nil)

// Confirmer answers subscribe and leave requests that come by mail exactly
// as the web form answers them: subscribers.RequestSubscription decides
// (double opt-in), Outcome.Reply picks the answer, and
// render.ConfirmationMail builds the same mail. inbound.Processor calls
// it; inbound declares the interface, so inbound does not import ops.
type Confirmer struct {
	store *subscribers.Store
	r     *render.Renderer
}

// NewConfirmer is the Confirmer over d, building mail with r (whose Links
// and Signer make the confirmation links).
func NewConfirmer(d *db.DB, r *render.Renderer) *Confirmer {
	return &Confirmer{store: subscribers.NewStore(d), r: r}
}

// SubscribeMail records email as pending on list with the chosen topic
// slugs (nil: every topic) and returns the confirmation mail; a confirmed
// reader gets the link to their preferences instead, and a bounced or
// blocked one nothing (nil msg).
func (c *Confirmer) SubscribeMail(ctx context.Context, list *tidings.List, email, name string, topics []string) ([]byte, string, error) {
	tc := subscribers.TopicChoice{All: topics == nil, Slugs: topics}
	out, err := c.store.RequestSubscription(ctx, list.ID, email, name, tc)
	if err != nil {
		return nil, "", err
	}
	all, err := c.store.PublicTopics(ctx, list.ID)
	if err != nil {
		return nil, "", err
	}
	switch out.Reply() {
	case subscribers.ReplyConfirm:
		return c.r.ConfirmationMail(list, all, *out.Subscriber, render.Confirm)
	case subscribers.ReplyManage:
		return c.r.ConfirmationMail(list, all, *out.Subscriber, render.Manage)
	}
	return nil, "", nil // bounced or blocked: nothing is sent
}

// LeaveMail returns the mail whose link unsubscribes email from list, or
// inbound.ErrNotSubscribed when they are neither pending nor confirmed
// there (the same answer for someone unknown, so mail cannot probe).
func (c *Confirmer) LeaveMail(ctx context.Context, list *tidings.List, email string) ([]byte, string, error) {
	sub, err := c.store.Get(ctx, email)
	if errors.Is(err, subscribers.ErrNotFound) {
		return nil, "", inbound.ErrNotSubscribed
	}
	if err != nil {
		return nil, "", err
	}
	for _, ss := range sub.Subscriptions {
		if ss.ListID == list.ID && (ss.Status == tidings.StatusConfirmed || ss.Status == tidings.StatusPending) {
			return c.r.ConfirmationMail(list, nil, *sub, render.Leave)
		}
	}
	return nil, "", inbound.ErrNotSubscribed
}
