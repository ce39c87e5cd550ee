package ops

import (
	"context"
	"time"

	"github.com/tidings/tidings"
)

// User is a console account.
type User struct {
	ID        int64
	Email     string
	Role      tidings.Role
	AllLists  bool
	Lists     []string // slugs, when not AllLists
	LastLogin time.Time
	CreatedAt time.Time
}

// NewUser is what AddUser needs. Without Password the user gets a
// one-time sign-in link (24 h) to set one.
type NewUser struct {
	Email    string
	Role     tidings.Role
	Lists    []string // slugs; empty = every list
	Password string
}

// Token is an API token (its secret is shown once, by AddToken).
type Token struct {
	ID        int64
	Name      string
	Role      tidings.Role
	AllLists  bool
	Lists     []string
	LastUsed  time.Time
	CreatedAt time.Time
}

// Session is a signed-in console session.
type Session struct {
	ID    string // the cookie value; only its hash is stored
	Actor tidings.Actor
}

// SignIn checks an address and password; rate-limited per address and per
// client IP (*RateLimitError). Unknown accounts and wrong passwords get the
// same error and take about the same time.
func (s *Service) SignIn(ctx context.Context, email, password, ip, userAgent string) (*Session, error) {
	return nil, errNotImplemented
}

// SessionActor is the actor of a session id; it renews the idle expiry.
func (s *Service) SessionActor(ctx context.Context, sessionID, ip string) (tidings.Actor, error) {
	return tidings.Actor{}, errNotImplemented
}

// SignOut ends one session.
func (s *Service) SignOut(ctx context.Context, sessionID string) error {
	return errNotImplemented
}

// TokenActor is the actor of an API bearer token; it records last use.
func (s *Service) TokenActor(ctx context.Context, bearer, ip string) (tidings.Actor, error) {
	return tidings.Actor{}, errNotImplemented
}

// SignInLink is whom a one-time link is for; GET shows the form and must
// not use the link up.
func (s *Service) SignInLink(ctx context.Context, link string) (email string, err error) {
	return "", errNotImplemented
}

// UseSignInLink sets the password and signs in, using the link up.
func (s *Service) UseSignInLink(ctx context.Context, link, password, ip, userAgent string) (*Session, error) {
	return nil, errNotImplemented
}

// ChangePassword sets the actor's own password after checking the old one,
// ends every session of the user and returns a fresh one.
func (s *Service) ChangePassword(ctx context.Context, a tidings.Actor, old, new, ip, userAgent string) (*Session, error) {
	return nil, errNotImplemented
}

// SetLanguage records the console language the user chose ("" = browser).
func (s *Service) SetLanguage(ctx context.Context, a tidings.Actor, lang string) error {
	return errNotImplemented
}

// Users lists the console accounts (admin).
func (s *Service) Users(ctx context.Context, a tidings.Actor) ([]User, error) {
	return nil, errNotImplemented
}

// AddUser adds an account (admin); link is the one-time sign-in URL when
// no password was given.
func (s *Service) AddUser(ctx context.Context, a tidings.Actor, u NewUser) (_ *User, link string, err error) {
	return nil, "", errNotImplemented
}

// RemoveUser removes an account and ends its sessions (admin).
func (s *Service) RemoveUser(ctx context.Context, a tidings.Actor, email string) error {
	return errNotImplemented
}

// Tokens lists the API tokens (admin).
func (s *Service) Tokens(ctx context.Context, a tidings.Actor) ([]Token, error) {
	return nil, errNotImplemented
}

// AddToken makes a token (admin) and returns its secret, shown this once.
func (s *Service) AddToken(ctx context.Context, a tidings.Actor, name string, role tidings.Role, lists []string) (_ *Token, secret string, err error) {
	return nil, "", errNotImplemented
}

// RemoveToken revokes a token (admin).
func (s *Service) RemoveToken(ctx context.Context, a tidings.Actor, name string) error {
	return errNotImplemented
}

// AuditEntry is one recorded change.
type AuditEntry struct {
	ID         int64
	At         time.Time
	ActorKind  string
	Actor      string
	Action     string
	ObjectKind string
	ObjectID   string
	ListSlug   string
	Detail     string // JSON
	IP         string
}

// Audit lists recorded changes, newest first, by keyset (admin).
func (s *Service) Audit(ctx context.Context, a tidings.Actor, listSlug, cursor string, limit int) ([]AuditEntry, string, error) {
	return nil, "", errNotImplemented
}
