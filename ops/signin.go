// signin.go holds sign-in and what follows from it: sessions, API token
// actors, one-time sign-in links, password changes and the console language.

package ops

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/auth"
)

// SignIn checks an address and password; rate-limited per address and per
// client IP (*RateLimitError). Unknown accounts and wrong passwords get the
// same error and take about the same time.
//
// Successful sign-ins are audited (user.signin, with the IP); failures are
// not changes and are only logged, so that guessing cannot flood the
// audit log with writes.
func (s *Service) SignIn(ctx context.Context, email, password, ip, userAgent string) (*Session, error) {
	ac := s.acct()
	email = accountKey(email)
	addrKey, ipKey := "addr:"+email, "ip:"+ipBlock(ip)
	// Take counts the attempt before it is made: parallel guesses cannot
	// all slip past a check that none of them has failed yet.
	wait1, ok1 := ac.byAddr.Take(addrKey)
	wait2, ok2 := time.Duration(0), false
	if ok1 {
		if wait2, ok2 = ac.byIP.Take(ipKey); !ok2 {
			ac.byAddr.Forgive(addrKey) // not tried after all
		}
	}
	if !ok1 || !ok2 {
		s.log.Warn("sign-in refused: too many failures", "email", email, "ip", ip)
		return nil, &RateLimitError{RetryAfter: max(wait1, wait2)}
	}
	if len(password) > maxPassword {
		password = password[:maxPassword] // still fails below, at the usual cost
	}
	acc, err := ac.store.AccountByEmail(ctx, nil, email)
	if err != nil && !errors.Is(err, auth.ErrNoAccount) {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	good, rehash := false, false
	if acc == nil || acc.Hash == "" {
		auth.VerifyDummy(password, ac.store.Params)
	} else if good, rehash, err = auth.VerifyPassword(password, acc.Hash, ac.store.Params); err != nil {
		s.log.Error("stored password hash unreadable", "email", email, "err", err)
		good = false
	}
	if !good {
		s.log.Info("sign-in failed", "email", email, "ip", ip)
		return nil, errBadCredentials // the attempt stays counted
	}
	ac.byAddr.Reset(addrKey)
	ac.byIP.Forgive(ipKey)
	var newHash string
	if rehash {
		if newHash, err = auth.HashPassword(password, ac.store.Params); err != nil {
			return nil, fmt.Errorf("sign in: %w", err)
		}
	}
	var sess *Session
	err = s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		if newHash != "" {
			if err := ac.store.SetPassword(ctx, tx, acc.ID, newHash); err != nil {
				return err
			}
		}
		var err error
		sess, err = s.startSession(ctx, tx, acc, ip, userAgent, "user.signin")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sign in %s: %w", email, err)
	}
	return sess, nil
}

// accountKey is how an address names an account: the identity form
// AddUser stored (lower-case, IDN domain in A-labels, full-width forms
// read as ASCII), or, for what is no address at all, just lower-case, to
// fail like any unknown account.
func accountKey(email string) string {
	if em, err := tidings.ParseEmail(email); err == nil {
		return em.Key
	}
	return strings.ToLower(strings.TrimSpace(email))
}

// ipBlock is the key of the per-IP limit: an IPv4 address, or the /64 an
// IPv6 client usually has to itself (else one client could rotate
// through its 2^64 addresses).
func ipBlock(ip string) string {
	p := net.ParseIP(ip)
	if p == nil || p.To4() != nil {
		return ip
	}
	return p.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// startSession opens a session for acc inside tx, records the sign-in and
// audits it as action.
func (s *Service) startSession(ctx context.Context, tx *sql.Tx, acc *auth.Account, ip, userAgent, action string) (*Session, error) {
	st := s.acct().store
	id, err := st.NewSession(ctx, tx, acc.ID, ip, userAgent)
	if err != nil {
		return nil, err
	}
	if err := st.TouchLogin(ctx, tx, acc.ID); err != nil {
		return nil, err
	}
	a := userActor(acc, ip)
	if err := s.record(ctx, tx, a, auditEntry{Action: action, ObjectKind: "user", ObjectID: acc.Email}); err != nil {
		return nil, err
	}
	return &Session{ID: id, Actor: a}, nil
}

func userActor(acc *auth.Account, ip string) tidings.Actor {
	return tidings.Actor{Kind: tidings.ActorUser, ID: acc.ID, Name: acc.Email, Role: tidings.Role(acc.Role),
		AllLists: acc.AllLists, Lists: acc.ListIDs, IP: ip, Lang: tidings.Lang(acc.Lang)}
}

// SessionActor is the actor of a session id; it renews the idle expiry.
func (s *Service) SessionActor(ctx context.Context, sessionID, ip string) (tidings.Actor, error) {
	st := s.acct().store
	uid, err := st.SessionUser(ctx, sessionID)
	if errors.Is(err, auth.ErrNoSession) {
		return tidings.Actor{}, fmt.Errorf("%w: %w", err, ErrUnauthenticated)
	}
	if err != nil {
		return tidings.Actor{}, fmt.Errorf("session: %w", err)
	}
	acc, err := st.AccountByID(ctx, nil, uid)
	if errors.Is(err, auth.ErrNoAccount) {
		return tidings.Actor{}, fmt.Errorf("session of a removed account: %w", ErrUnauthenticated)
	}
	if err != nil {
		return tidings.Actor{}, fmt.Errorf("session: %w", err)
	}
	return userActor(acc, ip), nil
}

// SignOut ends one session.
func (s *Service) SignOut(ctx context.Context, sessionID string) error {
	if sessionID == "" {
		return nil
	}
	return s.acct().store.EndSession(ctx, sessionID)
}

// TokenActor is the actor of an API bearer token; it records last use.
func (s *Service) TokenActor(ctx context.Context, bearer, ip string) (tidings.Actor, error) {
	t, err := s.acct().store.TokenBySecret(ctx, strings.TrimSpace(bearer))
	if errors.Is(err, auth.ErrNoToken) {
		return tidings.Actor{}, fmt.Errorf("unknown or revoked API token: %w", ErrUnauthenticated)
	}
	if err != nil {
		return tidings.Actor{}, fmt.Errorf("token: %w", err)
	}
	return tidings.Actor{Kind: tidings.ActorToken, ID: t.ID, Name: t.Name, Role: tidings.Role(t.Role),
		AllLists: t.AllLists, Lists: t.ListIDs, IP: ip}, nil
}

// linkValue accepts the link's value or the whole URL.
func linkValue(link string) string {
	link = strings.TrimSpace(link)
	if i := strings.LastIndexByte(strings.TrimRight(link, "/"), '/'); i >= 0 {
		link = strings.TrimRight(link, "/")[i+1:]
	}
	return link
}

var errBadLink = fmt.Errorf("%w: %w", auth.ErrNoLink, ErrNotFound)

// SignInLink is whom a one-time link is for; GET shows the form and must
// not use the link up.
func (s *Service) SignInLink(ctx context.Context, link string) (email string, err error) {
	st := s.acct().store
	uid, err := st.LinkUser(ctx, nil, linkValue(link))
	if errors.Is(err, auth.ErrNoLink) {
		return "", errBadLink
	}
	if err != nil {
		return "", err
	}
	acc, err := st.AccountByID(ctx, nil, uid)
	if errors.Is(err, auth.ErrNoAccount) {
		return "", errBadLink
	}
	if err != nil {
		return "", err
	}
	return acc.Email, nil
}

// UseSignInLink sets the password and signs in, using the link up.
func (s *Service) UseSignInLink(ctx context.Context, link, password, ip, userAgent string) (*Session, error) {
	if err := checkPassword(password); err != nil {
		return nil, err // the link stays usable for a second try
	}
	st := s.acct().store
	v := linkValue(link)
	// Hash outside the write transaction (it takes tens of ms), and only
	// for a link that looks usable, so bad links cost no hashing.
	if _, err := st.LinkUser(ctx, nil, v); errors.Is(err, auth.ErrNoLink) {
		return nil, errBadLink
	} else if err != nil {
		return nil, err
	}
	hash, err := auth.HashPassword(password, st.Params)
	if err != nil {
		return nil, err
	}
	var sess *Session
	err = s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		uid, err := st.UseLink(ctx, tx, v)
		if err != nil {
			return err
		}
		acc, err := st.AccountByID(ctx, tx, uid)
		if err != nil {
			return err
		}
		if err := st.SetPassword(ctx, tx, uid, hash); err != nil {
			return err
		}
		if err := st.EndSessions(ctx, tx, uid); err != nil {
			return err
		}
		sess, err = s.startSession(ctx, tx, acc, ip, userAgent, "user.password")
		return err
	})
	if errors.Is(err, auth.ErrNoLink) || errors.Is(err, auth.ErrNoAccount) {
		return nil, errBadLink
	}
	if err != nil {
		return nil, fmt.Errorf("sign-in link: %w", err)
	}
	return sess, nil
}

// ChangePassword sets the actor's own password after checking the old one,
// ends every session of the user and returns a fresh one.
func (s *Service) ChangePassword(ctx context.Context, a tidings.Actor, old, new, ip, userAgent string) (*Session, error) {
	if a.Kind != tidings.ActorUser {
		return nil, fmt.Errorf("%s has no password to change: %w", a, ErrForbidden)
	}
	if err := checkPassword(new); err != nil {
		return nil, err
	}
	st := s.acct().store
	acc, err := st.AccountByID(ctx, nil, a.ID)
	if errors.Is(err, auth.ErrNoAccount) {
		return nil, fmt.Errorf("account removed: %w", ErrUnauthenticated)
	}
	if err != nil {
		return nil, err
	}
	// Guessing the current password from a stolen session is limited
	// like sign-in, per address.
	addrKey := "addr:" + acc.Email
	if wait, ok := s.acct().byAddr.Take(addrKey); !ok {
		return nil, &RateLimitError{RetryAfter: wait}
	}
	ok := false
	if acc.Hash == "" || len(old) > maxPassword {
		auth.VerifyDummy(old, st.Params)
	} else if ok, _, err = auth.VerifyPassword(old, acc.Hash, st.Params); err != nil {
		return nil, fmt.Errorf("change password: %w", err)
	}
	if !ok {
		return nil, Invalid("old", "the current password is wrong")
	}
	s.acct().byAddr.Reset(addrKey)
	hash, err := auth.HashPassword(new, st.Params)
	if err != nil {
		return nil, err
	}
	var sess *Session
	err = s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		if err := st.SetPassword(ctx, tx, acc.ID, hash); err != nil {
			return err
		}
		if err := st.EndSessions(ctx, tx, acc.ID); err != nil {
			return err
		}
		sess, err = s.startSession(ctx, tx, acc, ip, userAgent, "user.password")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("change password: %w", err)
	}
	return sess, nil
}

// SetLanguage records the console language the user chose ("" = browser).
func (s *Service) SetLanguage(ctx context.Context, a tidings.Actor, lang string) error {
	if a.Kind != tidings.ActorUser {
		return fmt.Errorf("%s has no console language: %w", a, ErrForbidden)
	}
	var l tidings.Lang
	if strings.TrimSpace(lang) != "" {
		var err error
		if l, err = tidings.ParseLang(lang); err != nil {
			return Invalid("lang", "%q: want zh, en or empty (the browser's)", lang)
		}
	}
	err := s.acct().store.SetLang(ctx, a.ID, string(l))
	if errors.Is(err, auth.ErrNoAccount) {
		return fmt.Errorf("account removed: %w", ErrUnauthenticated)
	}
	return err
}
