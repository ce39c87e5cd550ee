// Package ops is the one layer of operations that the three front ends —
// the command line, the JSON API and the console — call: import an issue,
// tag, audience, preview, test copy, schedule, send, subscriber changes,
// users, tokens and the audit log.
//
// Every operation takes the acting tidings.Actor, checks its role and
// lists in one place (authorize), and records every change it makes in
// the audit log. No front end reaches around this package into SQL or into
// another front end's code.
package ops

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os/user"
	"sync"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
)

// Sentinel errors. Front ends map them to exit codes and HTTP statuses,
// each in one place.
var (
	ErrNotFound        = errors.New("not found")          // 404, exit 1
	ErrForbidden       = errors.New("forbidden")          // 403, exit 1
	ErrInvalid         = errors.New("invalid input")      // 422, exit 2
	ErrConflict        = errors.New("conflict")           // 409, exit 1
	ErrUnauthenticated = errors.New("not signed in")      // 401
	ErrRateLimited     = errors.New("too many attempts")  // 429 with Retry-After
	ErrUnavailable     = errors.New("not available here") // 503: e.g. no relay configured for test copies
)

// FieldError is bad input in one field: the API answers 422 naming it.
type FieldError struct {
	Field   string // JSON name of the field, e.g. "topics" or "at"
	Problem string // what is wrong, one line
}

func (e *FieldError) Error() string        { return e.Field + ": " + e.Problem }
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

// Invalid is a FieldError for field.
func Invalid(field, format string, a ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, a...)}
}

// RateLimitError says when to try again.
type RateLimitError struct{ RetryAfter time.Duration }

func (e *RateLimitError) Error() string {
	return fmt.Sprintf("too many attempts: try again in %s", e.RetryAfter.Round(time.Second))
}
func (e *RateLimitError) Is(target error) bool { return target == ErrRateLimited }

// Perm is what an operation needs of its actor on a list.
type Perm int

const (
	// PermView reads a list's issues, topics, subscribers, sends, reports.
	PermView Perm = iota
	// PermEdit changes issues, tags, schedules and sends, takes previews and
	// test copies, and adds or changes a subscriber on the list.
	PermEdit
	// PermAdmin changes list settings and topics, imports, exports and
	// erases subscribers, and manages users, tokens and the audit log.
	PermAdmin
)

// authorize is the one place roles and lists are checked. listID 0 means
// no particular list (users, tokens, the audit log): only admins with
// every list pass then for PermAdmin.
func authorize(a tidings.Actor, p Perm, listID int64) error {
	switch a.Role {
	case tidings.RoleAdmin, tidings.RoleEditor:
	default:
		return fmt.Errorf("%s has no role: %w", a, ErrForbidden)
	}
	if p == PermAdmin && a.Role != tidings.RoleAdmin {
		return fmt.Errorf("%s is an editor; this needs an admin: %w", a, ErrForbidden)
	}
	if listID == 0 {
		if p == PermAdmin && !a.AllLists {
			return fmt.Errorf("%s is limited to some lists; this needs an admin of every list: %w", a, ErrForbidden)
		}
		return nil
	}
	if !a.MayList(listID) {
		return fmt.Errorf("%s may not work on this list: %w", a, ErrForbidden)
	}
	return nil
}

// CLI is the actor of the command line: whoever can open the database file
// can do everything, so it is an admin of every list, named after the OS
// user in the audit log.
func CLI() tidings.Actor {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return tidings.Actor{Kind: tidings.ActorCLI, Name: name, Role: tidings.RoleAdmin, AllLists: true}
}

// Service runs the operations over one database.
type Service struct {
	d    *db.DB
	deps Deps
	now  func() time.Time
	log  *slog.Logger

	// Sign-in limits and the account store live as long as the service:
	// one per process, shared by the console and the API.
	acctOnce sync.Once
	accts    *accounts
	// jobs are the imports and exports this process is running.
	jobs sync.WaitGroup
}

// New makes a Service; deps.DB is required.
func New(deps Deps) *Service {
	s := &Service{d: deps.DB, deps: deps, now: deps.Now, log: deps.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// DB is the database the service works on (for front ends' own health
// checks only; they never query it for data).
func (s *Service) DB() *db.DB { return s.d }

// auditEntry is one change, written by record.
type auditEntry struct {
	Action     string // e.g. issue.import, article.update, subscriber.delete
	ObjectKind string // issue, article, list, topic, subscriber, schedule, user, token, job
	ObjectID   string // never an erased reader's address: subscribers by id
	ListID     int64  // 0 when the change concerns no list
	Detail     any    // marshalled as JSON; nil for none
}

// record writes one audit entry inside tx (the change's own transaction,
// so a change is never stored without its record, nor the reverse).
func (s *Service) record(ctx context.Context, tx *sql.Tx, a tidings.Actor, e auditEntry) error {
	detail := ""
	if e.Detail != nil {
		b, err := json.Marshal(e.Detail)
		if err != nil {
			return fmt.Errorf("audit %s: %w", e.Action, err)
		}
		detail = string(b)
	}
	var list any
	if e.ListID != 0 {
		list = e.ListID
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, actor_kind, actor, action, object_kind, object_id, list_id, detail, ip)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		db.Unix(s.now()), string(a.Kind), a.Name, e.Action, e.ObjectKind, e.ObjectID, list, detail, a.IP)
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.Action, err)
	}
	return nil
}

// audit records a change that a store already committed in its own
// transaction. Prefer record inside the change's transaction where the
// store lets the caller hold it; here a crash between the two commits can
// lose the entry (never the change).
func (s *Service) audit(ctx context.Context, a tidings.Actor, e auditEntry) error {
	return s.d.WriteTx(ctx, func(tx *sql.Tx) error { return s.record(ctx, tx, a, e) })
}
