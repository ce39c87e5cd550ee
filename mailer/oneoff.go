package mailer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// ErrRejected: the relay refused the message for good (5xx).
var ErrRejected = errors.New("message rejected")

// OneOffOptions tune a OneOff sender.
type OneOffOptions struct {
	Timeouts Timeouts
	DKIM     *DKIM // signs with d= the sender's domain unless the key names one
	Logger   *slog.Logger
	// ListKey, when set, finds the own key of a list that sends from
	// domain (nil: none); it is preferred to DKIM, so a list's
	// confirmation mail is signed like its issues.
	ListKey func(ctx context.Context, domain string) (*DKIM, error)
}

// OneOff sends single transactional messages (confirmation mail, test
// copies): one short SMTP session per message, trying each relay in turn
// until one takes it. It keeps no log; callers decide what a failure means.
type OneOff struct {
	relays []Relay
	o      OneOffOptions
}

// NewOneOff makes a one-off sender over relays.
func NewOneOff(relays []Relay, o OneOffOptions) *OneOff {
	o.Timeouts = o.Timeouts.withDefaults()
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &OneOff{relays: relays, o: o}
}

// SendMail sends msg (a complete RFC 5322 message, CRLF line ends) from
// the envelope sender from to the addresses in to. A temporary failure on
// one relay moves on to the next; a permanent rejection (ErrRejected)
// does not, since another relay would refuse it too.
func (s *OneOff) SendMail(ctx context.Context, from string, to []string, msg []byte) error {
	if len(s.relays) == 0 {
		return ErrNoRelay
	}
	if len(to) == 0 {
		return fmt.Errorf("send mail: no recipients")
	}
	domain := from[strings.LastIndexByte(from, '@')+1:]
	key := s.o.DKIM
	if s.o.ListKey != nil {
		k, err := s.o.ListKey(ctx, domain)
		if err != nil {
			return fmt.Errorf("send mail: dkim key of %s: %w", domain, err)
		}
		if k != nil {
			key = k
		}
	}
	if key != nil {
		var b bytes.Buffer
		if err := key.sign(&b, msg, domain); err != nil {
			return err
		}
		msg = b.Bytes()
	}
	var errs []error
	for _, r := range s.relays {
		if err := ctx.Err(); err != nil {
			return err
		}
		cn, err := dialRelay(ctx, r, s.o.Timeouts)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s", r.Redacted(), redactErr(err, r)))
			continue
		}
		_, err = cn.send(from, to, msg, nil)
		if err == nil {
			cn.close(true)
			return nil
		}
		v := classify(err)
		cn.close(!v.reconnect)
		if v.kind == KindPermanent || v.kind == KindRecipient {
			return fmt.Errorf("%w by %s: %s", ErrRejected, r.Redacted(), v.reply)
		}
		errs = append(errs, fmt.Errorf("%s: %s", r.Redacted(), redactErr(err, r)))
		s.o.Logger.Warn("one-off send failed, trying the next relay", "relay", r.Redacted(), "err", redactErr(err, r))
	}
	return fmt.Errorf("send mail: %w", errors.Join(errs...))
}
