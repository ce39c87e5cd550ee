package main

import (
	"context"
	"fmt"

	"github.com/tidings/tidings"
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
	log, err := a.sendLogger()
	if err != nil {
		return nil, err
	}
	deps := ops.Deps{DB: d, Links: tidings.Links{Base: a.cfg.BaseURL}, Now: a.Now, Logger: log}
	deps.ConsoleURL = a.consoleURL() // sign-in links: {admin-url}/admin/link/{value}
	if len(a.cfg.SMTPURLs) > 0 {
		e, err := a.newEngine(ctx)
		if err != nil {
			return nil, fmt.Errorf("delivery engine: %w", err)
		}
		deps.Mail = e
	}
	a.opsSvc = ops.New(deps)
	return a.opsSvc, nil
}
