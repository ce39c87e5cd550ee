package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"html/template"
	"strings"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/issues"
	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/render"
	"github.com/tidings/tidings/subscribers"
	"github.com/tidings/tidings/token"
	"github.com/tidings/tidings/web"
)

// The concrete types the reader pages run on.
var (
	_ web.Subscribers = (*subscribers.Store)(nil)
	_ web.Issues      = (*issues.Store)(nil)
	_ web.Renderer    = webRenderer{}
	_ web.MailSender  = (*mailer.OneOff)(nil)
)

// webRenderer adapts render.Renderer to web.Renderer: web names its two
// mail kinds itself so that it need not import render.
type webRenderer struct{ r *render.Renderer }

func (w webRenderer) WebIssue(list *tidings.List, topics []tidings.Topic, issue *tidings.Issue) (template.HTML, error) {
	return w.r.WebIssue(list, topics, issue)
}

func (w webRenderer) ReaderMail(list *tidings.List, topics []tidings.Topic, sub tidings.Subscriber, kind web.MailKind, ttl time.Duration) ([]byte, string, error) {
	k := render.Confirm
	if kind == web.ManageMail {
		k = render.Manage
	}
	return w.r.ConfirmationMailTTL(list, topics, sub, k, ttl)
}

// newWebServer builds the reader pages from the database, the stores, the
// renderer and the one-off SMTP sender; serve mounts it at /.
//
// Environment (besides the global configuration):
//   - TIDINGS_CORS_ORIGINS: space-separated origins allowed to post the
//     JSON subscribe form from their pages ("*" for any);
//   - TIDINGS_TRUST_PROXY=1: take the client IP for rate limits from the
//     last X-Forwarded-For entry (only behind a proxy that sets it).
func (a *App) newWebServer(ctx context.Context) (*web.Server, error) {
	d, err := a.DB(ctx)
	if err != nil {
		return nil, err
	}
	secret, err := d.Secret(ctx)
	if err != nil {
		return nil, err
	}
	signer := token.New(secret)
	signer.Now = a.Now
	links := tidings.Links{Base: a.cfg.BaseURL}
	sender, err := a.newMailSender(ctx)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	log, err := a.sendLogger()
	if err != nil {
		return nil, err
	}
	// The CSRF key is derived from the database secret, so every serve
	// process on one database accepts the others' forms, and a restart
	// does not void forms open in browsers.
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("tidings web csrf key"))
	s, err := web.New(web.Config{
		Subscribers:       subscribers.NewStore(d),
		Issues:            issues.NewStore(d),
		Renderer:          webRenderer{&render.Renderer{Links: links, Signer: signer, Now: a.Now}},
		Mailer:            sender,
		Signer:            signer,
		Links:             links,
		Now:               a.Now,
		CORSOrigins:       strings.Fields(a.Getenv("TIDINGS_CORS_ORIGINS")),
		TrustForwardedFor: a.Getenv("TIDINGS_TRUST_PROXY") == "1",
		CSRFKey:           mac.Sum(nil),
		Logger:            log.With("component", "web"),
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}
