package tidings

import (
	"fmt"
	"slices"
	"strings"
)

// Role is what a console user or an API token may do.
type Role string

const (
	// RoleAdmin may do everything on its lists, and manage users, tokens,
	// list settings, subscriber export and erasure.
	RoleAdmin Role = "admin"
	// RoleEditor works on the issues, schedules, sends and reports of its
	// lists and may add a subscriber.
	RoleEditor Role = "editor"
)

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToLower(strings.TrimSpace(s))); r {
	case RoleAdmin, RoleEditor:
		return r, nil
	}
	return "", fmt.Errorf("role %q: want admin or editor", s)
}

// ActorKind says how an actor proved who it is.
type ActorKind string

const (
	ActorUser   ActorKind = "user"   // signed in to the console
	ActorToken  ActorKind = "token"  // an API bearer token
	ActorCLI    ActorKind = "cli"    // the command line: whoever can open the database file
	ActorSystem ActorKind = "system" // the daemon itself (schedules, inbound mail)
)

// Actor is whoever asks for an operation: every operation of package ops
// takes one, checks its role and lists, and names it in the audit log.
type Actor struct {
	Kind ActorKind
	ID   int64  // users.id or api_tokens.id; 0 for cli and system
	Name string // email, token name, or the OS user
	Role Role
	// AllLists: every list, present and future. Otherwise Lists holds the
	// ids of the lists the actor may work on (possibly none).
	AllLists bool
	Lists    []int64
	IP       string // where the request came from, for the audit log
	Lang     Lang   // the console language the user chose, "" = the browser's
}

// MayList reports whether the actor's lists include listID.
func (a Actor) MayList(listID int64) bool {
	return a.AllLists || slices.Contains(a.Lists, listID)
}

// IsAdmin reports whether the actor has the admin role.
func (a Actor) IsAdmin() bool { return a.Role == RoleAdmin }

// String names the actor for logs and the audit log: "user:ann@example.org".
func (a Actor) String() string { return string(a.Kind) + ":" + a.Name }
