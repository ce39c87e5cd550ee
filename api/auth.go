package api

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/ops"
)

// authenticate finds the actor of the request's bearer token. The API
// never looks at cookies: a browser's session cannot be used to call it
// from another site.
func (s *server) authenticate(r *http.Request) (tidings.Actor, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return tidings.Actor{}, fmt.Errorf("no Authorization header: send Authorization: Bearer TOKEN: %w", ops.ErrUnauthenticated)
	}
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return tidings.Actor{}, fmt.Errorf("Authorization header is not \"Bearer TOKEN\": %w", ops.ErrUnauthenticated)
	}
	a, err := s.ops.TokenActor(r.Context(), strings.TrimSpace(token), clientIP(r))
	if errors.Is(err, ops.ErrNotFound) {
		// An unknown token is a failed sign-in, not a missing resource.
		return tidings.Actor{}, fmt.Errorf("bearer token is not known or was revoked: %w", ops.ErrUnauthenticated)
	}
	if err != nil {
		return tidings.Actor{}, fmt.Errorf("bearer token: %w", err)
	}
	return a, nil
}

// clientIP is the peer address of the request, for the audit log.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
