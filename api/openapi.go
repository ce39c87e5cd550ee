package api

import (
	_ "embed"
	"net/http"

	"github.com/tidings/tidings"
)

// openAPI is the hand-written OpenAPI 3.1 document of every route; the
// tests check it against the route table and every response against it.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3.1 document of the API.
func OpenAPI() []byte { return openAPI }

func getOpenAPI(s *server, w http.ResponseWriter, r *http.Request, _ tidings.Actor) error {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.WriteHeader(http.StatusOK)
	w.Write(openAPI)
	return nil
}
