package mailer

import (
	"bytes"
	"context"
	"fmt"
	"sort"

	"github.com/tidings/tidings"
)

// DryReport is what a send would do.
type DryReport struct {
	IssueID    int64
	Recipients int // confirmed subscribers
	Messages   int // messages that would be sent
	Skipped    int // recipients with no article for their topics
	Bytes      int64
	// Combinations counts recipients per topic combination (the key the
	// composer names), sorted by key.
	Combinations []Combination
}

// Combination is one topic combination of a dry run.
type Combination struct {
	Key        string `json:"key"`
	Articles   int    `json:"articles"`
	Recipients int    `json:"recipients"`
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// DryRun renders every recipient's message (so a template error shows
// now, not halfway through a send) and counts them per topic
// combination. It sends nothing and writes nothing.
func (e *Engine) DryRun(ctx context.Context, issueID int64) (DryReport, error) {
	rep := DryReport{IssueID: issueID}
	camp, err := e.deps.Campaigns.Campaign(ctx, issueID)
	if err != nil {
		return rep, err
	}
	combos := map[string]*Combination{}
	var cw countingWriter
	err = e.deps.Recipients.Recipients(ctx, camp.ListID, func(rc tidings.Recipient) error {
		rep.Recipients++
		key, n := camp.Composer.Combination(rc)
		c := combos[key]
		if c == nil {
			c = &Combination{Key: key, Articles: n}
			combos[key] = c
		}
		c.Recipients++
		if n == 0 {
			rep.Skipped++
			return nil
		}
		if _, err := camp.Composer.Compose(&cw, rc, ComposeOptions{}); err != nil {
			return fmt.Errorf("compose message for subscriber %d: %w", rc.SubscriberID, err)
		}
		rep.Messages++
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("dry run of issue %d: %w", issueID, err)
	}
	rep.Bytes = cw.n
	for _, c := range combos {
		rep.Combinations = append(rep.Combinations, *c)
	}
	sort.Slice(rep.Combinations, func(i, j int) bool { return rep.Combinations[i].Key < rep.Combinations[j].Key })
	return rep, nil
}

// SendTest sends one test copy of an issue to addr: composed as rc would
// get it, or, when rc is nil, as a subscriber of every topic would. It is
// not recorded in the delivery log.
func (e *Engine) SendTest(ctx context.Context, issueID int64, addr string, rc *tidings.Recipient) (messageID string, err error) {
	camp, err := e.deps.Campaigns.Campaign(ctx, issueID)
	if err != nil {
		return "", err
	}
	r := tidings.Recipient{Email: addr, AllTopics: true}
	if rc != nil {
		r = *rc
	}
	var b bytes.Buffer
	id, err := camp.Composer.Compose(&b, r, ComposeOptions{To: addr, Test: true})
	if err != nil {
		return "", fmt.Errorf("compose test message: %w", err)
	}
	dk, _ := e.keyFor(camp)
	if dk != nil && dk.Domain == "" {
		c := *dk
		c.Domain = camp.Domain
		dk = &c
	}
	s := NewOneOff(e.cfg.Relays, OneOffOptions{Timeouts: e.cfg.Timeouts, DKIM: dk, Logger: e.cfg.Logger})
	if err := s.SendMail(ctx, camp.Composer.ReturnPath(r), []string{addr}, b.Bytes()); err != nil {
		return "", fmt.Errorf("send test message to %s: %w", addr, err)
	}
	return id, nil
}
