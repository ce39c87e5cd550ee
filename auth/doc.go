// Package auth stores and checks the console's and the API's credentials:
// argon2id password hashes (PHC strings carrying their parameters, so they
// can be raised later), server-side sessions with idle and absolute expiry,
// API tokens and one-time sign-in links (only their SHA-256 is stored), and
// an in-memory sign-in rate limiter with bounded memory.
//
// It knows nothing of roles or lists beyond storing them: package ops
// decides who may do what and records changes in the audit log, handing
// its transaction to the Store methods that write, so a change and its
// audit entry commit together.
package auth

import "errors"

// Sentinel errors; package ops maps them to its own.
var (
	ErrBadPassword = errors.New("wrong address or password")
	ErrNoAccount   = errors.New("no such account")
	ErrExists      = errors.New("already exists")
	ErrNoSession   = errors.New("no such session, or it expired")
	ErrNoToken     = errors.New("no such API token")
	ErrNoLink      = errors.New("sign-in link unknown, used or expired")
	ErrBadHash     = errors.New("malformed password hash")
)
