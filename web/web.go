// Package web serves the reader pages of tidings: the subscribe form with
// topic choice and double opt-in, the confirmation link, the preference
// centre, the one-button and RFC 8058 one-click unsubscribe, the archive of
// sent issues with its "view in browser" pages, and an Atom feed — in the
// list's language (zh-CN or English).
//
// Everything is server-rendered from templates/web with one stylesheet and
// no script. Readers are identified only by the HMAC-signed token in the
// path (package token), scoped to one subscriber, one list and one purpose;
// forms carry a double-submit CSRF token; the subscribe form is guarded by
// per-IP and per-address token buckets and a honeypot, and answers the same
// page whatever the address's standing so it cannot be used to find out
// who subscribes.
//
// Confirmation mails go out in the background (a bounded queue), so the
// answer page takes the same time whether a mail is sent or not; the
// daemon calls Shutdown after its http.Server has stopped, to let them
// finish.
//
// The package depends on small interfaces (Subscribers, Issues, Renderer,
// MailSender) that cmd/tidings satisfies with the real stores, renderer and
// SMTP sender.
package web

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/subscribers"
	"github.com/tidings/tidings/templates"
	"github.com/tidings/tidings/token"
)

// Subscribers is what the pages need of the subscriber store
// (*subscribers.Store).
type Subscribers interface {
	// PublicList and PublicTopics leave out the subscriber counts, which
	// cost a scan of a large list on every page view.
	PublicList(ctx context.Context, slug string) (*tidings.List, error)
	PublicTopics(ctx context.Context, listID int64) ([]tidings.Topic, error)
	GetByID(ctx context.Context, id int64) (*tidings.Subscriber, error)
	Subscription(ctx context.Context, listID, subID int64) (*tidings.Subscription, error)
	SetTopics(ctx context.Context, listID, subID int64, c subscribers.TopicChoice) error
	SetName(ctx context.Context, subID int64, name string) error
	SetStatus(ctx context.Context, listID, subID int64, st tidings.Status) error
	Unsubscribe(ctx context.Context, listID, subID int64) error
	RequestSubscription(ctx context.Context, listID int64, email, name string, topics subscribers.TopicChoice) (subscribers.Outcome, error)
	ConfirmSubscription(ctx context.Context, listID, subID int64, nonce []byte) error
	UnsubscribeAll(ctx context.Context, subID int64) (int, error)
}

// Issues is what the archive needs of the issue store (*issues.Store).
type Issues interface {
	// List is every issue of the list (article bodies may be left out);
	// the pages show only the sent ones.
	List(ctx context.Context, listID int64) ([]tidings.Issue, error)
	// Get is one issue with its articles.
	Get(ctx context.Context, id int64) (*tidings.Issue, error)
}

// MailKind is which transactional mail a page sends.
type MailKind int

const (
	// ConfirmMail carries the single-use, expiring confirmation link.
	ConfirmMail MailKind = iota
	// ManageMail goes to an address that is already confirmed: a link to
	// its preferences instead of a confirmation.
	ManageMail
)

// Renderer renders issues for the archive and the transactional mails
// (render.Renderer, adapted in cmd/tidings).
type Renderer interface {
	WebIssue(list *tidings.List, topics []tidings.Topic, issue *tidings.Issue) (template.HTML, error)
	ReaderMail(list *tidings.List, topics []tidings.Topic, sub tidings.Subscriber, kind MailKind, ttl time.Duration) (msg []byte, from string, err error)
}

// MailSender delivers one message (mailer.OneOff).
type MailSender interface {
	SendMail(ctx context.Context, from string, to []string, msg []byte) error
}

// Limit is a token bucket: Burst requests at once, then one per Every.
type Limit struct {
	Every time.Duration
	Burst int
}

// Default limits on the subscribe form. An address gets at most a few mails
// an hour however many IPs ask for it; one IP may try a handful of addresses.
var (
	DefaultIPLimit   = Limit{Every: 2 * time.Minute, Burst: 10}
	DefaultAddrLimit = Limit{Every: 20 * time.Minute, Burst: 3}
)

// Config wires a Server.
type Config struct {
	Subscribers Subscribers
	Issues      Issues
	Renderer    Renderer
	Mailer      MailSender
	Signer      *token.Signer
	Links       tidings.Links
	Now         func() time.Time // default time.Now
	ConfirmTTL  time.Duration    // lifetime of a confirmation link; default 72h
	// CORSOrigins may post the JSON variant of the subscribe form from
	// their pages ("https://example.org"); "*" allows any origin.
	CORSOrigins []string
	Logger      *slog.Logger // default discards
	IPLimit     Limit        // zero: DefaultIPLimit
	AddrLimit   Limit        // zero: DefaultAddrLimit
	// TrustForwardedFor takes the client IP from the last X-Forwarded-For
	// entry (set it only behind a reverse proxy that writes that header).
	TrustForwardedFor bool
	// CSRFKey keys the CSRF tokens; default a random key per process.
	CSRFKey []byte
	// BodyTimeout bounds the reading of a form's body, so a client that
	// sends its body a byte at a time cannot hold a connection (and a
	// goroutine) for long; default 10s.
	BodyTimeout time.Duration
	// MaxQueuedMails bounds the confirmation mails waiting or being sent
	// in the background (default 1000); beyond it a request's mail is
	// dropped and logged, so a flood from many IPs with a slow SMTP relay
	// cannot pile up goroutines without end.
	MaxQueuedMails int
}

// mailWorkers is how many reader mails are handed to the relay at once.
const mailWorkers = 4

// Server is the reader web server; it implements http.Handler.
type Server struct {
	cfg    Config
	log    *slog.Logger
	mux    *http.ServeMux
	pages  map[string]*template.Template
	css    []byte
	ipLim  *limiter
	adLim  *limiter
	cors   map[string]bool
	anyOK  bool
	prefix string // path of Links.Base, e.g. "/news" behind a proxy

	wg       sync.WaitGroup // mails being sent in the background
	queued   atomic.Int64   // of which waiting or in flight
	mailSlot chan struct{}  // mailWorkers slots
	bg       context.Context
	stopBG   context.CancelFunc

	issues issueCache // rendered issues for the archive and the feed

	overMu   sync.Mutex
	overlays map[string]map[string]*template.Template // by list template dir
}

// New checks cfg and builds the server, parsing every template once.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Subscribers == nil:
		return nil, errors.New("web: no subscriber store")
	case cfg.Issues == nil:
		return nil, errors.New("web: no issue store")
	case cfg.Renderer == nil:
		return nil, errors.New("web: no renderer")
	case cfg.Mailer == nil:
		return nil, errors.New("web: no mail sender")
	case cfg.Signer == nil:
		return nil, errors.New("web: no token signer")
	}
	base, err := url.Parse(cfg.Links.Base)
	if err != nil || cfg.Links.Base == "" || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("web: base URL %q: want http(s)://host[/path]", cfg.Links.Base)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ConfirmTTL <= 0 {
		cfg.ConfirmTTL = 72 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.IPLimit == (Limit{}) {
		cfg.IPLimit = DefaultIPLimit
	}
	if cfg.AddrLimit == (Limit{}) {
		cfg.AddrLimit = DefaultAddrLimit
	}
	if cfg.BodyTimeout <= 0 {
		cfg.BodyTimeout = 10 * time.Second
	}
	if cfg.MaxQueuedMails <= 0 {
		cfg.MaxQueuedMails = 1000
	}
	if len(cfg.CSRFKey) == 0 {
		cfg.CSRFKey = make([]byte, 32)
		if _, err := rand.Read(cfg.CSRFKey); err != nil {
			return nil, fmt.Errorf("web: csrf key: %w", err)
		}
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		ipLim:    newLimiter(cfg.IPLimit),
		adLim:    newLimiter(cfg.AddrLimit),
		cors:     map[string]bool{},
		prefix:   strings.TrimRight(base.Path, "/"),
		overlays: map[string]map[string]*template.Template{},
		mailSlot: make(chan struct{}, mailWorkers),
	}
	s.bg, s.stopBG = context.WithCancel(context.Background())
	for _, o := range cfg.CORSOrigins {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		if o == "*" {
			s.anyOK = true
		} else if o != "" {
			s.cors[strings.ToLower(o)] = true
		}
	}
	if s.pages, err = parsePages(templates.FS); err != nil {
		return nil, err
	}
	if s.css, err = fs.ReadFile(templates.FS, "static/style.css"); err != nil {
		return nil, fmt.Errorf("web: stylesheet: %w", err)
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	m := http.NewServeMux()
	m.HandleFunc("GET /static/style.css", s.handleCSS)
	m.HandleFunc("GET /{list}/subscribe", s.handleSubscribeForm)
	m.HandleFunc("POST /{list}/subscribe", s.handleSubscribe)
	m.HandleFunc("OPTIONS /{list}/subscribe", s.handlePreflight)
	m.HandleFunc("GET /{list}/confirm/{token}", s.handleConfirm)
	m.HandleFunc("GET /{list}/preferences/{token}", s.handlePreferences)
	m.HandleFunc("POST /{list}/preferences/{token}", s.handlePreferencesPost)
	m.HandleFunc("GET /{list}/unsubscribe/{token}", s.handleUnsubscribeForm)
	m.HandleFunc("POST /{list}/unsubscribe/{token}", s.handleUnsubscribe)
	m.HandleFunc("GET /{list}/archive", s.handleArchive)
	m.HandleFunc("GET /{list}/archive/{number}", s.handleIssue)
	m.HandleFunc("GET /{list}/feed.xml", s.handleFeed)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.message(w, r, nil, http.StatusNotFound, "notfound.title", "notfound.text", "", "")
	})
	s.mux = m
}

// CSP allows no script at all, styles only from our stylesheet, images from
// anywhere safe (issues link to pictures), and forms only back to us.
const CSP = "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// ServeHTTP sets the security headers every answer carries and routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	// Tokens are in the path: never leak them to a linked site.
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	if s.secureBase() {
		// Served over https (perhaps behind a proxy): stay there.
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	// Under a base URL with a path (https://example.org/news), take the
	// prefix off when the proxy in front did not.
	if s.prefix != "" {
		if rest, ok := strings.CutPrefix(r.URL.Path, s.prefix); ok && strings.HasPrefix(rest, "/") {
			r2 := new(http.Request)
			*r2 = *r
			u := *r.URL
			u.Path, u.RawPath = rest, ""
			r2.URL = &u
			r = r2
		}
	}
	s.mux.ServeHTTP(w, r)
}

// self is the path the browser sees for this request.
func (s *Server) self(r *http.Request) string { return s.prefix + r.URL.Path }

// Wait blocks until the mails the server is sending in the background are
// handed over (or have failed).
func (s *Server) Wait() { s.wg.Wait() }

// Shutdown waits, after the HTTP server has stopped taking requests, for
// the mails being sent in the background. When ctx ends first it cancels
// them and returns ctx's error: those readers did not get their mail and
// may ask again.
func (s *Server) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.stopBG()
		return fmt.Errorf("web: reader mails still being sent: %w", ctx.Err())
	}
}

func (s *Server) handleCSS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(s.css)
}

// local turns one of our absolute links into a path (keeping the base
// URL's own path), so pages work under whatever host name the browser used
// and stay within CSP 'self'.
func (s *Server) local(abs string) string {
	base := strings.TrimRight(s.cfg.Links.Base, "/")
	if p, ok := strings.CutPrefix(abs, base); ok {
		return s.prefix + p
	}
	return abs
}

// sendMail builds and sends a transactional mail in the background, so the
// answer page comes back at the same speed whether a mail goes out or not.
// At most mailWorkers go to the relay at once and MaxQueuedMails wait.
func (s *Server) sendMail(list *tidings.List, topics []tidings.Topic, sub *tidings.Subscriber, kind MailKind) {
	if s.queued.Add(1) > int64(s.cfg.MaxQueuedMails) {
		s.queued.Add(-1)
		s.log.Warn("reader mail dropped: too many waiting", "list", list.Slug, "subscriber", sub.ID, "kind", int(kind), "max", s.cfg.MaxQueuedMails)
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.queued.Add(-1)
		select {
		case s.mailSlot <- struct{}{}:
			defer func() { <-s.mailSlot }()
		case <-s.bg.Done():
			s.log.Error("reader mail not sent: shutting down", "list", list.Slug, "subscriber", sub.ID, "kind", int(kind))
			return
		}
		ctx, cancel := context.WithTimeout(s.bg, 2*time.Minute)
		defer cancel()
		msg, from, err := s.cfg.Renderer.ReaderMail(list, topics, *sub, kind, s.cfg.ConfirmTTL)
		if err == nil {
			err = s.cfg.Mailer.SendMail(ctx, from, []string{sub.Email}, msg)
		}
		if err != nil {
			s.log.Error("reader mail failed", "list", list.Slug, "subscriber", sub.ID, "kind", int(kind), "err", err)
			return
		}
		s.log.Info("reader mail sent", "list", list.Slug, "subscriber", sub.ID, "kind", int(kind))
	}()
}
