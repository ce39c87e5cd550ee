package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// loadDoc loads and validates the embedded OpenAPI document.
func loadDoc(t testing.TB) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openAPI)
	if err != nil {
		t.Fatalf("openapi.json does not load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	return doc
}

// TestOpenAPIDocumentIsValid31 checks the document's form: OpenAPI 3.1,
// relative server /api/v1, bearer security, and a problem document for
// every failure.
func TestOpenAPIDocumentIsValid31(t *testing.T) {
	doc := loadDoc(t)
	if !doc.IsOpenAPI31OrLater() || !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi = %q, want 3.1.x", doc.OpenAPI)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != Prefix {
		t.Errorf("servers = %v, want one with url %s", doc.Servers, Prefix)
	}
	sch := doc.Components.SecuritySchemes["bearer"]
	if sch == nil || sch.Value.Type != "http" || sch.Value.Scheme != "bearer" {
		t.Errorf("security scheme bearer missing or not http bearer")
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Responses.Default() == nil {
				t.Errorf("%s %s: no default (problem) response", method, path)
			}
			if op.OperationID == "" {
				t.Errorf("%s %s: no operationId", method, path)
			}
		}
	}
}

// TestOpenAPIMatchesRoutes: every route of the mux is in the document and
// every operation of the document is a route, with the same public/secured
// choice, so the two cannot drift apart.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadDoc(t)
	inDoc := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + path
			inDoc[key] = true
			public := op.Security != nil && len(*op.Security) == 0
			i := slices.IndexFunc(routes, func(r route) bool { return r.Method+" "+r.Path == key })
			if i < 0 {
				t.Errorf("%s is in openapi.json but not a route", key)
				continue
			}
			if routes[i].Public != public {
				t.Errorf("%s: route public=%v, document public=%v", key, routes[i].Public, public)
			}
		}
	}
	seen := map[string]bool{}
	for _, r := range routes {
		key := r.Method + " " + r.Path
		if seen[key] {
			t.Errorf("%s is in the route table twice", key)
		}
		seen[key] = true
		if !inDoc[key] {
			t.Errorf("route %s is missing from openapi.json", key)
		}
	}
}

// TestOpenAPIServedWithoutToken: the document is served at
// /api/v1/openapi.json to anyone, byte for byte the embedded one.
func TestOpenAPIServedWithoutToken(t *testing.T) {
	h := New(Config{})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", Prefix+"/openapi.json", nil))
	if rec.Code != http.StatusOK || rec.Body.String() != string(openAPI) {
		t.Fatalf("GET openapi.json: %d, %d bytes", rec.Code, rec.Body.Len())
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
}

// TestOpenAPIPassesRedoclyLint runs a second, independent validator over
// the document when one is installed (npm install -g @redocly/cli@2.77.0,
// or TIDINGS_REDOCLY=/path/to/redocly). It is optional: kin-openapi above
// is the check that always runs.
func TestOpenAPIPassesRedoclyLint(t *testing.T) {
	bin := os.Getenv("TIDINGS_REDOCLY")
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("redocly"); err != nil {
			t.Skip("redocly not found: npm install -g @redocly/cli@2.77.0, or set TIDINGS_REDOCLY")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "lint", "--format=stylish", "openapi.json").CombinedOutput()
	if err != nil {
		t.Fatalf("redocly lint: %v\n%s", err, out)
	}
}
