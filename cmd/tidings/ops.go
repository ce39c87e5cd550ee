package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/ops"
)

// ops builds the operations layer once per App, over the same database
// (a.DB), so that CLI, API and console commands all go through one
// Service. Test copies need the delivery engine: it is wired only when a
// relay is configured; without one, ops answers ErrUnavailable.
func (a *App) ops(ctx context.Context) (*ops.Service, error) {
	if a.opsSvc != nil {
		return a.opsSvc, nil
	}
	d, err := a.DB(ctx)
	if err != nil {
		return nil, err
	}
	// A bad --log-format is reported by the commands that log (send,
	// serve); the others must not fail on it.
	log, err := a.sendLogger()
	if err != nil {
		log = nil
	}
	deps := ops.Deps{DB: d, Links: tidings.Links{Base: a.cfg.BaseURL}, Now: a.Now, Logger: log}
	deps.ConsoleURL = a.consoleURL() // sign-in links: {admin-url}/admin/link/{value}
	if len(a.cfg.SMTPURLs) > 0 {
		deps.Mail = &lazyTestMailer{a: a}
	}
	a.opsSvc = ops.New(deps)
	return a.opsSvc, nil
}

// lazyTestMailer builds the delivery engine on the first test copy, so a
// command that sends none (status, schedule ls) never fails on a relay or
// DKIM setting it does not use.
// The console and the API may ask for test copies concurrently.
type lazyTestMailer struct {
	a  *App
	mu sync.Mutex
	e  *mailer.Engine
}

func (m *lazyTestMailer) SendTest(ctx context.Context, issueID int64, addr string, rc *tidings.Recipient) (string, error) {
	m.mu.Lock()
	if m.e == nil {
		e, err := m.a.newEngine(ctx)
		if err != nil {
			m.mu.Unlock()
			return "", fmt.Errorf("delivery engine: %w", err)
		}
		m.e = e
	}
	e := m.e
	m.mu.Unlock()
	return e.SendTest(ctx, issueID, addr, rc)
}
