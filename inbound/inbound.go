// Package inbound handles the mail that readers and their mail servers send
// back to a list: delivery status notifications (bounces) to the VERP
// return path, abuse reports (ARF complaints), mailto unsubscribes from
// List-Unsubscribe, and subscribe / unsubscribe requests written to the
// list's own addresses.
//
// One Processor decides what a message means and commits its effect; two
// transports feed it: an SMTP listener (Server) that accepts mail only for
// the lists' own addresses and is never a relay, and a POP3 poller (Poller)
// for deployments whose bounces land in an ordinary mailbox. Database
// effects of a message are committed in the same transaction as its
// "already seen" key (table inbound_seen), so a message fetched twice —
// after a crash between processing and deletion, or an SMTP client that
// retries after a lost reply — has its effect once.
//
// The package never answers a bounce, an auto-reply, bulk or list mail, or
// a message from one of the lists' own addresses, and rate-limits its
// answers per address: a mail loop between two robots cannot start here.
package inbound

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/bounce"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/token"
)

var (
	// ErrNotOurs: the recipient is not one of the lists' own addresses (or
	// carries a forged token); the SMTP listener refuses it at RCPT.
	ErrNotOurs = errors.New("not one of the lists' addresses")
	// ErrNotSubscribed is what a Confirmer returns when a leave request
	// names an address that is not on the list: nothing is sent.
	ErrNotSubscribed = errors.New("not subscribed")
	// ErrNoRecipient: a mailbox message names none of the lists' addresses.
	ErrNoRecipient = errors.New("no list address in the message")
)

// Directory gives the lists and their topics (*subscribers.Store).
type Directory interface {
	Lists(ctx context.Context) ([]tidings.List, error)
	Topics(ctx context.Context, listID int64) ([]tidings.Topic, error)
}

// Confirmer is double opt-in exactly as the web form does it: it records
// the request and builds the confirmation mail, which the Processor sends.
// cmd/tidings implements it with subscribers' reader helpers and render's
// ConfirmationMail, so a subscribe mail and the web form send the same mail.
type Confirmer interface {
	// SubscribeMail records email as pending on list (a confirmed reader
	// stays confirmed and gets the manage mail instead) with the chosen
	// topic slugs, nil meaning all topics, and returns the mail to send and
	// its envelope sender; a nil msg means nothing is sent (the address is
	// bounced or blocked there).
	SubscribeMail(ctx context.Context, list *tidings.List, email, name string, topics []string) (msg []byte, from string, err error)
	// LeaveMail returns the mail whose link unsubscribes email from list,
	// or ErrNotSubscribed.
	LeaveMail(ctx context.Context, list *tidings.List, email string) (msg []byte, from string, err error)
}

// MailSender sends one transactional message (*mailer.OneOff).
type MailSender interface {
	SendMail(ctx context.Context, from string, to []string, msg []byte) error
}

// Rules decide when bounces take a reader off a list: the one rule of
// package bounce, shared with the mailer.
type Rules = bounce.Rules

// DefaultRules: one hard bounce, or three soft bounces in 30 days.
var DefaultRules = bounce.DefaultRules

// Config wires a Processor.
type Config struct {
	DB        *db.DB
	Signer    *token.Signer
	Directory Directory
	Confirmer Confirmer  // nil: subscribe/leave mails are accepted and ignored
	Sender    MailSender // nil: same
	Rules     Rules
	// ReplyLimit is how many answers one address gets per ReplyWindow
	// (default 3 per hour): forged senders cannot turn the list into a
	// mail cannon against a victim's mailbox.
	ReplyLimit  int
	ReplyWindow time.Duration
	Now         func() time.Time
	Logger      *slog.Logger
}

// Processor decides what an inbound message means and applies it.
type Processor struct {
	cfg Config

	mu      sync.Mutex
	replies map[string][]time.Time // address key → times of answers in the window

	// The lists are read at every RCPT; a short cache keeps a flood of
	// refused recipients from becoming a flood of queries.
	listsMu   sync.Mutex
	lists     []tidings.List
	listsAt   time.Time
	lastPrune time.Time
}

// listsTTL is how long a change to the lists (a new list, a new From
// domain) takes to reach the inbound addresses.
const listsTTL = 10 * time.Second

// seenTTL is how long a processed message's key is kept: long enough for
// any MTA's retry or a mailbox's next poll, short enough to stay small.
const seenTTL = 30 * 24 * time.Hour

func (p *Processor) allLists(ctx context.Context) ([]tidings.List, error) {
	p.listsMu.Lock()
	defer p.listsMu.Unlock()
	now := p.cfg.Now()
	if p.lists != nil && now.Sub(p.listsAt) < listsTTL && !now.Before(p.listsAt) {
		return p.lists, nil
	}
	ls, err := p.cfg.Directory.Lists(ctx)
	if err != nil {
		return nil, fmt.Errorf("read lists: %w", err)
	}
	if ls == nil {
		ls = []tidings.List{}
	}
	p.lists, p.listsAt = ls, now
	return ls, nil
}

// New checks cfg and fills its defaults.
func New(cfg Config) (*Processor, error) {
	if cfg.DB == nil || cfg.Signer == nil || cfg.Directory == nil {
		return nil, fmt.Errorf("inbound: DB, Signer and Directory are required")
	}
	cfg.Rules = cfg.Rules.WithDefaults()
	if cfg.ReplyLimit <= 0 {
		cfg.ReplyLimit = 3
	}
	if cfg.ReplyWindow <= 0 {
		cfg.ReplyWindow = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Processor{cfg: cfg, replies: map[string][]time.Time{}}, nil
}

// Action is what a message did.
type Action string

const (
	ActionBounce      Action = "bounce"      // Result.Kind says hard or soft
	ActionComplaint   Action = "complaint"   // ARF report: unsubscribed at once
	ActionUnsubscribe Action = "unsubscribe" // mail to unsubscribe+TOKEN@
	ActionSubscribe   Action = "subscribe"   // LIST+subscribe@: pending, confirmation sent
	ActionLeave       Action = "leave"       // LIST+unsubscribe@: confirmation link sent
	ActionIgnored     Action = "ignored"     // nothing to do; Reason says why
	ActionDuplicate   Action = "duplicate"   // seen before: effect already committed
)

// Result is the outcome of one message for one recipient address.
type Result struct {
	Action       Action
	Kind         string // hard | soft | complaint
	Code         string // enhanced status code, e.g. 5.1.1
	Diagnostic   string
	ListID       int64
	SubscriberID int64
	IssueID      int64
	Changed      bool   // the subscription's status changed (bounced, unsubscribed)
	Replied      bool   // an answer was sent
	Reason       string // why nothing was done or sent
}

// Envelope is what the transport knows beside the message bytes.
type Envelope struct {
	// Rcpt is the list address the message was delivered to; "" makes the
	// Processor look for one in the message (Delivered-To, X-Original-To,
	// To, Cc, then the reported message's Return-Path or List-Unsubscribe),
	// as a mailbox poller needs.
	Rcpt       string
	From       string // MAIL FROM
	NullSender bool   // MAIL FROM:<> (bounces and other robots)
	Key        string // dedup key (POP3: mailbox + UIDL); "" = hash of recipient and message
	Source     string // smtp | pop3, recorded with bounces
}

// Process handles one message delivered to envelopeRcpt with an unknown
// envelope sender: the Return-Path header, when present, stands in for it.
func (p *Processor) Process(ctx context.Context, envelopeRcpt string, raw []byte) (Result, error) {
	from, null, _ := returnPath(raw)
	return p.ProcessEnvelope(ctx, Envelope{Rcpt: envelopeRcpt, From: from, NullSender: null, Source: "smtp"}, raw)
}

// ProcessEnvelope handles one message. An error means nothing was
// committed and the message should be offered again later (SMTP 451, or
// left in the mailbox); ErrNotOurs and ErrNoRecipient mean it never will be
// ours.
func (p *Processor) ProcessEnvelope(ctx context.Context, env Envelope, raw []byte) (Result, error) {
	if env.Source == "" {
		env.Source = "smtp"
	}
	if env.Key == "" {
		env.Key = messageKey(raw, env.Rcpt)
	}
	m, err := parseMessage(raw)
	if err != nil {
		if env.Rcpt == "" {
			// From a mailbox: without its headers it cannot be shown to
			// be ours, so it stays there for a person.
			return Result{}, fmt.Errorf("%w: %v", ErrNoRecipient, err)
		}
		// Delivered to a list address: not worth a retry, it will not
		// parse next time either.
		return p.ignore(ctx, env.Key, err.Error())
	}
	m.envFrom, m.nullSender = env.From, env.NullSender || isDaemon(env.From)
	var t target
	if env.Rcpt != "" {
		t, err = p.resolve(ctx, env.Rcpt)
	} else {
		t, env.Rcpt, err = p.locate(ctx, m)
	}
	if err != nil {
		return Result{}, err
	}
	res, err := p.dispatch(ctx, t, m, env)
	if err != nil {
		return res, err
	}
	p.cfg.Logger.LogAttrs(ctx, slog.LevelInfo, "inbound message",
		slog.String("rcpt", env.Rcpt), slog.String("source", env.Source), slog.String("action", string(res.Action)),
		slog.String("kind", res.Kind), slog.String("code", res.Code), slog.Int64("subscriber", res.SubscriberID),
		slog.Int64("issue", res.IssueID), slog.Bool("replied", res.Replied), slog.String("reason", res.Reason))
	return res, nil
}

// locate finds the list address of a message taken from a mailbox.
func (p *Processor) locate(ctx context.Context, m *message) (target, string, error) {
	for _, a := range m.deliveredTo() {
		if t, err := p.resolve(ctx, a); err == nil {
			return t, a, nil
		} else if !errors.Is(err, ErrNotOurs) {
			return target{}, "", err
		}
	}
	// A bounce forwarded to a plain mailbox: the reader is in the message
	// it reports. An unsubscribe token found there identifies the reader
	// but the mail is still a report, not a request to leave.
	for _, a := range m.originalAddrs() {
		t, err := p.resolve(ctx, a)
		if err != nil {
			continue
		}
		if t.kind == addrUnsubscribe {
			t.kind = addrBounce
		}
		if t.kind == addrBounce {
			return t, a, nil
		}
	}
	return target{}, "", ErrNoRecipient
}

// messageKey identifies a message for deduplication when the transport
// gives no better key: its Message-ID and content, per recipient.
func messageKey(raw []byte, rcpt string) string {
	h := sha256.New()
	h.Write([]byte(strings.ToLower(rcpt)))
	h.Write([]byte{0})
	h.Write(raw)
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

func (p *Processor) dispatch(ctx context.Context, t target, m *message, env Envelope) (Result, error) {
	switch t.kind {
	case addrUnsubscribe:
		// An abuse report sent there (some feedback loops answer the
		// List-Unsubscribe address) is a complaint, counted on its issue
		// when the reported message carries the VERP token; it
		// unsubscribes too.
		if isComplaint(m) {
			c := t.claims
			if orig := p.claimsFromOriginal(ctx, m); orig.SubscriberID == c.SubscriberID && orig.ListID == c.ListID {
				c = orig
			}
			return p.complaint(ctx, env, c, m)
		}
		// Any other mail to the List-Unsubscribe mailto means "stop",
		// whatever it says (RFC 2369); no answer.
		return p.unsubscribe(ctx, env.Key, t.claims.ListID, t.claims.SubscriberID)
	case addrSubscribe, addrLeave:
		if isComplaint(m) {
			return p.complaintFromOriginal(ctx, env, m)
		}
		return p.reply(ctx, t, m, env)
	}
	// addrBounce: reports first, then the bounce bodies MTAs write
	// without RFC 3464; auto-replies never count (classifyBounce checks).
	if isComplaint(m) {
		c := t.claims
		if orig := p.claimsFromOriginal(ctx, m); orig.SubscriberID != 0 && orig.ListID == c.ListID {
			c = orig
		}
		return p.complaint(ctx, env, c, m)
	}
	b, why := classifyBounce(m)
	if why != "" {
		return p.ignore(ctx, env.Key, why)
	}
	return p.bounce(ctx, env, t.claims, b)
}

// complaintFromOriginal handles an ARF report sent to a list address that
// carries no token: the reader is found from the reported message.
func (p *Processor) complaintFromOriginal(ctx context.Context, env Envelope, m *message) (Result, error) {
	c := p.claimsFromOriginal(ctx, m)
	if c.SubscriberID == 0 {
		return p.ignore(ctx, env.Key, "complaint names no reader of ours")
	}
	return p.complaint(ctx, env, c, m)
}

// claimsFromOriginal finds the reader of the message a report is about:
// the VERP token in its Return-Path (with the issue), else the
// unsubscribe token in its List-Unsubscribe mailto.
func (p *Processor) claimsFromOriginal(ctx context.Context, m *message) token.Claims {
	for _, a := range m.originalAddrs() {
		t, err := p.resolve(ctx, a)
		if err != nil {
			continue
		}
		if t.kind == addrBounce || t.kind == addrUnsubscribe {
			return t.claims
		}
	}
	return token.Claims{}
}
