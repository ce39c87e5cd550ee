package ops

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/auth"
	"github.com/tidings/tidings/db"
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

// Sign-in limits: failures per address and per client IP in a sliding
// window. The per-IP limit is higher because one office may share an
// address; the per-address one stops guessing one person's password from
// many addresses. Each limiter holds at most limiterKeys keys.
const (
	signInPerAddress = 5
	signInPerIP      = 30
	signInWindow     = 15 * time.Minute
	limiterKeys      = 10000
	// Passwords: at least 8 characters (NIST SP 800-63B); at most 1024
	// bytes, so a request cannot make hashing arbitrarily long input.
	minPassword = 8
	maxPassword = 1024
)

// accounts is the Service's account state: the store and the sign-in
// limiters (in memory, per process).
type accounts struct {
	store  *auth.Store
	byAddr *auth.Limiter
	byIP   *auth.Limiter
}

// acct is the service's account state, made on first use.
func (s *Service) acct() *accounts {
	s.acctOnce.Do(func() {
		now := func() time.Time { return s.now() }
		s.accts = &accounts{
			store:  auth.NewStore(s.d, now),
			byAddr: auth.NewLimiter(signInPerAddress, signInWindow, limiterKeys, now),
			byIP:   auth.NewLimiter(signInPerIP, signInWindow, limiterKeys, now),
		}
	})
	return s.accts
}

// AuthStore is the account store under the service, for tests and tools
// that tune lifetimes or hashing parameters.
func (s *Service) AuthStore() *auth.Store { return s.acct().store }

// errBadCredentials is the one answer to an unknown address and a wrong
// password alike.
var errBadCredentials = fmt.Errorf("%w: %w", auth.ErrBadPassword, ErrUnauthenticated)

func checkPassword(pw string) error {
	if utf8.RuneCountInString(pw) < minPassword {
		return Invalid("password", "too short: at least %d characters", minPassword)
	}
	if len(pw) > maxPassword {
		return Invalid("password", "too long: at most %d bytes", maxPassword)
	}
	return nil
}

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

// resolveLists turns list slugs into ids; an unknown slug is bad input in
// field "lists". Empty slugs mean every list.
func (s *Service) resolveLists(ctx context.Context, slugs []string) (all bool, ids []int64, err error) {
	ids = []int64{}
	seen := map[string]bool{}
	for _, slug := range slugs {
		slug = strings.TrimSpace(slug)
		if slug == "" || seen[slug] {
			continue
		}
		seen[slug] = true
		var id int64
		err := s.d.R.QueryRowContext(ctx, `SELECT id FROM lists WHERE slug = ?`, slug).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil, Invalid("lists", "no list %q", slug)
		}
		if err != nil {
			return false, nil, fmt.Errorf("list %s: %w", slug, err)
		}
		ids = append(ids, id)
	}
	slices.Sort(ids) // the order the store reads them back in
	return len(seen) == 0, ids, nil
}

// listSlugs maps every list id to its slug (lists are few).
func (s *Service) listSlugs(ctx context.Context) (map[int64]string, error) {
	rows, err := s.d.R.QueryContext(ctx, `SELECT id, slug FROM lists`)
	if err != nil {
		return nil, fmt.Errorf("lists: %w", err)
	}
	defer rows.Close()
	m := map[int64]string{}
	for rows.Next() {
		var id int64
		var slug string
		if err := rows.Scan(&id, &slug); err != nil {
			return nil, fmt.Errorf("lists: %w", err)
		}
		m[id] = slug
	}
	return m, rows.Err()
}

func slugsOf(m map[int64]string, ids []int64) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if s, ok := m[id]; ok {
			out = append(out, s)
		}
	}
	return out
}

func checkRole(r tidings.Role) error {
	if _, err := tidings.ParseRole(string(r)); err != nil {
		return Invalid("role", "%q: want admin or editor", string(r))
	}
	return nil
}

// Users lists the console accounts (admin).
func (s *Service) Users(ctx context.Context, a tidings.Actor) ([]User, error) {
	if err := authorize(a, PermAdmin, 0); err != nil {
		return nil, err
	}
	accs, err := s.acct().store.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	slugs, err := s.listSlugs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]User, len(accs))
	for i, acc := range accs {
		out[i] = userOf(&acc, slugs)
	}
	return out, nil
}

func userOf(acc *auth.Account, slugs map[int64]string) User {
	u := User{ID: acc.ID, Email: acc.Email, Role: tidings.Role(acc.Role), AllLists: acc.AllLists,
		LastLogin: acc.LastLogin, CreatedAt: acc.CreatedAt}
	if !acc.AllLists {
		u.Lists = slugsOf(slugs, acc.ListIDs)
	}
	return u
}

// AddUser adds an account (admin); link is the one-time sign-in URL when
// no password was given.
func (s *Service) AddUser(ctx context.Context, a tidings.Actor, u NewUser) (_ *User, link string, err error) {
	if err := authorize(a, PermAdmin, 0); err != nil {
		return nil, "", err
	}
	em, err := tidings.ParseEmail(u.Email)
	if err != nil {
		return nil, "", Invalid("email", "%v", err)
	}
	if err := checkRole(u.Role); err != nil {
		return nil, "", err
	}
	role, _ := tidings.ParseRole(string(u.Role))
	all, ids, err := s.resolveLists(ctx, u.Lists)
	if err != nil {
		return nil, "", err
	}
	st := s.acct().store
	var hash string
	if u.Password != "" {
		if err := checkPassword(u.Password); err != nil {
			return nil, "", err
		}
		if hash, err = auth.HashPassword(u.Password, st.Params); err != nil {
			return nil, "", err
		}
	}
	acc := auth.Account{Email: em.Key, Role: string(role), AllLists: all, ListIDs: ids, Hash: hash}
	var value string
	err = s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		id, err := st.InsertAccount(ctx, tx, acc)
		if err != nil {
			return err
		}
		acc.ID = id
		if hash == "" {
			if value, err = st.NewLink(ctx, tx, id); err != nil {
				return err
			}
		}
		return s.record(ctx, tx, a, auditEntry{Action: "user.add", ObjectKind: "user", ObjectID: acc.Email,
			Detail: map[string]any{"role": role, "lists": listsDetail(all, u.Lists)}})
	})
	if errors.Is(err, auth.ErrExists) {
		return nil, "", fmt.Errorf("user %s already exists: %w", acc.Email, ErrConflict)
	}
	if err != nil {
		return nil, "", fmt.Errorf("add user %s: %w", acc.Email, err)
	}
	slugs, err := s.listSlugs(ctx)
	if err != nil {
		return nil, "", err
	}
	acc.CreatedAt = db.Time(db.Unix(s.now()))
	out := userOf(&acc, slugs)
	if value != "" {
		link = s.signInURL(value)
	}
	return &out, link, nil
}

func listsDetail(all bool, slugs []string) any {
	if all {
		return "all"
	}
	return slugs
}

// signInURL is where a sign-in link value is opened: the console's
// /admin/link/{value}.
func (s *Service) signInURL(value string) string {
	base := s.deps.ConsoleURL
	if base == "" {
		base = strings.TrimRight(s.deps.Links.Base, "/") + "/admin/"
	}
	return strings.TrimRight(base, "/") + "/link/" + value
}

// RemoveUser removes an account and ends its sessions (admin).
func (s *Service) RemoveUser(ctx context.Context, a tidings.Actor, email string) error {
	if err := authorize(a, PermAdmin, 0); err != nil {
		return err
	}
	email = accountKey(email)
	err := s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.acct().store.DeleteAccount(ctx, tx, email); err != nil {
			return err
		}
		return s.record(ctx, tx, a, auditEntry{Action: "user.rm", ObjectKind: "user", ObjectID: email})
	})
	if errors.Is(err, auth.ErrNoAccount) {
		return fmt.Errorf("no user %s: %w", email, ErrNotFound)
	}
	return err
}

// Tokens lists the API tokens (admin).
func (s *Service) Tokens(ctx context.Context, a tidings.Actor) ([]Token, error) {
	if err := authorize(a, PermAdmin, 0); err != nil {
		return nil, err
	}
	ts, err := s.acct().store.Tokens(ctx)
	if err != nil {
		return nil, err
	}
	slugs, err := s.listSlugs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Token, len(ts))
	for i, t := range ts {
		out[i] = Token{ID: t.ID, Name: t.Name, Role: tidings.Role(t.Role), AllLists: t.AllLists,
			LastUsed: t.LastUsed, CreatedAt: t.CreatedAt}
		if !t.AllLists {
			out[i].Lists = slugsOf(slugs, t.ListIDs)
		}
	}
	return out, nil
}

func checkTokenName(name string) error {
	if name == "" {
		return Invalid("name", "empty: give the token a name such as ci or import-script")
	}
	if len(name) > 64 {
		return Invalid("name", "%q is %d bytes long, at most 64", name, len(name))
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return Invalid("name", "%q: use letters, digits, '-', '_' and '.' only", name)
		}
	}
	return nil
}

// AddToken makes a token (admin) and returns its secret, shown this once.
func (s *Service) AddToken(ctx context.Context, a tidings.Actor, name string, role tidings.Role, lists []string) (_ *Token, secret string, err error) {
	if err := authorize(a, PermAdmin, 0); err != nil {
		return nil, "", err
	}
	name = strings.TrimSpace(name)
	if err := checkTokenName(name); err != nil {
		return nil, "", err
	}
	if err := checkRole(role); err != nil {
		return nil, "", err
	}
	role, _ = tidings.ParseRole(string(role))
	all, ids, err := s.resolveLists(ctx, lists)
	if err != nil {
		return nil, "", err
	}
	t := auth.APIToken{Name: name, Role: string(role), AllLists: all, ListIDs: ids}
	err = s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		var err error
		if t.ID, secret, err = s.acct().store.InsertToken(ctx, tx, t); err != nil {
			return err
		}
		return s.record(ctx, tx, a, auditEntry{Action: "token.add", ObjectKind: "token", ObjectID: name,
			Detail: map[string]any{"role": role, "lists": listsDetail(all, lists)}})
	})
	if errors.Is(err, auth.ErrExists) {
		return nil, "", fmt.Errorf("token %s already exists: %w", name, ErrConflict)
	}
	if err != nil {
		return nil, "", fmt.Errorf("add token %s: %w", name, err)
	}
	out := &Token{ID: t.ID, Name: name, Role: role, AllLists: all, CreatedAt: db.Time(db.Unix(s.now()))}
	if !all {
		slugs, err := s.listSlugs(ctx)
		if err != nil {
			return nil, "", err
		}
		out.Lists = slugsOf(slugs, ids)
	}
	return out, secret, nil
}

// RemoveToken revokes a token (admin).
func (s *Service) RemoveToken(ctx context.Context, a tidings.Actor, name string) error {
	if err := authorize(a, PermAdmin, 0); err != nil {
		return err
	}
	name = strings.TrimSpace(name)
	err := s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.acct().store.DeleteToken(ctx, tx, name); err != nil {
			return err
		}
		return s.record(ctx, tx, a, auditEntry{Action: "token.rm", ObjectKind: "token", ObjectID: name})
	})
	if errors.Is(err, auth.ErrNoToken) {
		return fmt.Errorf("no token %s: %w", name, ErrNotFound)
	}
	return err
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

// Audit page sizes.
const (
	DefaultAuditLimit = 50
	MaxAuditLimit     = 1000
)

// Audit lists recorded changes, newest first, by keyset (admin). The
// cursor is the id of the last entry of the previous page ("" = the
// newest); the returned cursor is "" on the last page. An admin limited
// to some lists sees the log of one of its lists (listSlug required);
// the whole log is for admins of every list.
func (s *Service) Audit(ctx context.Context, a tidings.Actor, listSlug, cursor string, limit int) ([]AuditEntry, string, error) {
	var listID int64
	if listSlug = strings.TrimSpace(listSlug); listSlug != "" {
		err := s.d.R.QueryRowContext(ctx, `SELECT id FROM lists WHERE slug = ?`, listSlug).Scan(&listID)
		if errors.Is(err, sql.ErrNoRows) {
			// Same answer whether the caller may see the list or not.
			if err := authorize(a, PermAdmin, 0); err != nil {
				return nil, "", err
			}
			return nil, "", Invalid("list", "no list %q", listSlug)
		}
		if err != nil {
			return nil, "", fmt.Errorf("audit: list %s: %w", listSlug, err)
		}
	}
	if err := authorize(a, PermAdmin, listID); err != nil {
		return nil, "", err
	}
	if limit == 0 {
		limit = DefaultAuditLimit
	}
	if limit < 0 || limit > MaxAuditLimit {
		return nil, "", Invalid("limit", "%d: want 1 to %d", limit, MaxAuditLimit)
	}
	before := int64(1<<63 - 1)
	if cursor != "" {
		n, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || n <= 0 {
			return nil, "", Invalid("cursor", "%q: not a cursor this API gave", cursor)
		}
		before = n
	}
	q := `SELECT a.id, a.at, a.actor_kind, a.actor, a.action, a.object_kind, a.object_id, COALESCE(l.slug, ''), a.detail, a.ip
		FROM audit_log a LEFT JOIN lists l ON l.id = a.list_id WHERE a.id < ?`
	args := []any{before}
	if listID != 0 {
		q += ` AND a.list_id = ?`
		args = append(args, listID)
	}
	q += ` ORDER BY a.id DESC LIMIT ?`
	args = append(args, limit+1)
	rows, err := s.d.R.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("audit: %w", err)
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.ActorKind, &e.Actor, &e.Action, &e.ObjectKind, &e.ObjectID, &e.ListSlug, &e.Detail, &e.IP); err != nil {
			return nil, "", fmt.Errorf("audit: %w", err)
		}
		e.At = db.Time(at)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("audit: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = strconv.FormatInt(out[limit-1].ID, 10)
	}
	return out, next, nil
}

// SetUserAccess changes an account's role and lists (admin); empty lists
// = every list. It takes effect at the account's next request: sessions
// read the account afresh each time.
func (s *Service) SetUserAccess(ctx context.Context, a tidings.Actor, email string, role tidings.Role, lists []string) (*User, error) {
	if err := authorize(a, PermAdmin, 0); err != nil {
		return nil, err
	}
	if err := checkRole(role); err != nil {
		return nil, err
	}
	role, _ = tidings.ParseRole(string(role))
	all, ids, err := s.resolveLists(ctx, lists)
	if err != nil {
		return nil, err
	}
	st := s.acct().store
	key := accountKey(email)
	var acc *auth.Account
	err = s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		var err error
		if acc, err = st.AccountByEmail(ctx, tx, key); err != nil {
			return err
		}
		if err := st.SetAccess(ctx, tx, acc.ID, string(role), all, ids); err != nil {
			return err
		}
		acc.Role, acc.AllLists, acc.ListIDs = string(role), all, ids
		return s.record(ctx, tx, a, auditEntry{Action: "user.set", ObjectKind: "user", ObjectID: acc.Email,
			Detail: map[string]any{"role": role, "lists": listsDetail(all, lists)}})
	})
	if errors.Is(err, auth.ErrNoAccount) {
		return nil, fmt.Errorf("no user %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("set user %s: %w", key, err)
	}
	slugs, err := s.listSlugs(ctx)
	if err != nil {
		return nil, err
	}
	u := userOf(acc, slugs)
	return &u, nil
}

// NewSignInLink gives an existing account a fresh one-time sign-in link
// (admin), for a person who lost their password or their first link.
// Earlier links stop working; the current password keeps working until
// the link is used.
func (s *Service) NewSignInLink(ctx context.Context, a tidings.Actor, email string) (string, error) {
	if err := authorize(a, PermAdmin, 0); err != nil {
		return "", err
	}
	st := s.acct().store
	key := accountKey(email)
	var value string
	err := s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		acc, err := st.AccountByEmail(ctx, tx, key)
		if err != nil {
			return err
		}
		if value, err = st.NewLink(ctx, tx, acc.ID); err != nil {
			return err
		}
		return s.record(ctx, tx, a, auditEntry{Action: "user.link", ObjectKind: "user", ObjectID: acc.Email})
	})
	if errors.Is(err, auth.ErrNoAccount) {
		return "", fmt.Errorf("no user %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("sign-in link for %s: %w", key, err)
	}
	return s.signInURL(value), nil
}
