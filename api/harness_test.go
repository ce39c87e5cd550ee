package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/ops"
	"github.com/tidings/tidings/smtpsink"
	"github.com/tidings/tidings/subscribers"
)

// The actors every route is tried as.
const (
	asAdmin     = "admin"      // admin of every list
	asEditor    = "editor"     // editor of alpha
	asOther     = "other"      // editor of beta only
	asListAdmin = "list-admin" // admin of alpha only
	asNone      = "none"       // no Authorization header
	asBad       = "bad"        // a bearer token nobody issued
)

var roles = []string{asAdmin, asListAdmin, asEditor, asOther, asNone, asBad}

// testNow is the clock of every test: schedules and tokens depend on it.
var testNow = time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return testNow }

// fixture is a database built once through ops and copied for each test,
// so that every test starts from the same state and may change it.
var fixture struct {
	once   sync.Once
	dir    string
	err    error
	tokens map[string]string
	ids    map[string]int64 // alpha7, beta1, schedule, job
}

func init() {
	// The document's file bodies: kin-openapi decodes them as plain text.
	openapi3filter.RegisterBodyDecoder("text/markdown", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("message/rfc822", openapi3filter.PlainBodyDecoder)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixture.dir != "" {
		os.RemoveAll(fixture.dir)
	}
	os.Exit(code)
}

// buildFixture makes two lists with topics, subscribers and an issue
// each, a recurring schedule, a finished export job, a user and tokens.
func buildFixture() error {
	dir, err := os.MkdirTemp("", "tidings-api-fixture-")
	if err != nil {
		return err
	}
	fixture.dir = dir
	ctx := context.Background()
	d, err := db.Open(ctx, filepath.Join(dir, "tidings.db"))
	if err != nil {
		return err
	}
	defer d.Close()
	svc := ops.New(ops.Deps{DB: d, Links: tidings.Links{Base: "https://news.example.org"}, Now: fixedNow})
	cli := ops.CLI()
	step := func(what string, err error) error {
		if err != nil {
			return fmt.Errorf("fixture: %s: %w", what, err)
		}
		return nil
	}
	for _, l := range []tidings.List{
		{Slug: "alpha", Name: "Alpha 周报", From: "Alpha <news@alpha.example.org>", Lang: tidings.LangZH, TZ: "Asia/Shanghai", Clicks: tidings.TrackAggregate, Opens: tidings.TrackOff},
		{Slug: "beta", Name: "Beta Weekly", From: "Beta <news@beta.example.org>", Lang: tidings.LangEN, TZ: "Europe/Berlin", Clicks: tidings.TrackAggregate, Opens: tidings.TrackOff},
	} {
		if err := step("list "+l.Slug, svc.CreateList(ctx, cli, &l)); err != nil {
			return err
		}
	}
	for _, t := range []struct {
		list string
		tp   tidings.Topic
	}{
		{"alpha", tidings.Topic{Slug: "energy", Name: "能源", Keywords: []string{"电池"}}},
		{"alpha", tidings.Topic{Slug: "biomed", Name: "生物医药", Keywords: []string{"医药"}}},
		{"beta", tidings.Topic{Slug: "misc", Name: "Misc"}},
	} {
		if err := step("topic "+t.tp.Slug, svc.AddTopic(ctx, cli, t.list, &t.tp)); err != nil {
			return err
		}
	}
	for _, s := range []struct {
		list, email, name string
		topics            subscribers.TopicChoice
	}{
		{"alpha", "ann@example.org", "Ann", subscribers.TopicChoice{Slugs: []string{"energy"}}},
		{"alpha", "bob@example.org", "Bob", subscribers.AllTopics},
		{"alpha", "cat@example.org", "猫", subscribers.TopicChoice{Slugs: []string{"biomed"}}},
		{"beta", "dan@example.org", "Dan", subscribers.AllTopics},
	} {
		if _, err := svc.AddSubscriber(ctx, cli, s.list, s.email, s.name, s.topics); err != nil {
			return step("subscriber "+s.email, err)
		}
	}
	fixture.ids = map[string]int64{}
	for _, f := range []struct{ key, list, file string }{{"alpha7", "alpha", "alpha-7.md"}, {"beta1", "beta", "beta-1.md"}} {
		src, err := os.ReadFile(filepath.Join("testdata", f.file))
		if err != nil {
			return err
		}
		is, err := svc.ImportIssue(ctx, cli, f.list, f.file, src, false)
		if err != nil {
			return step("import "+f.file, err)
		}
		fixture.ids[f.key] = is.ID
	}
	sc, err := svc.AddRecurring(ctx, cli, "alpha", "0 8 * * 1", "")
	if err != nil {
		return step("recurring schedule", err)
	}
	fixture.ids["schedule"] = sc.ID
	j, err := svc.StartExport(ctx, cli, "alpha", "csv")
	if err != nil {
		return step("export job", err)
	}
	svc.WaitJobs()
	fixture.ids["job"] = j.ID
	if _, _, err := svc.AddUser(ctx, cli, ops.NewUser{Email: "ed@example.org", Role: tidings.RoleEditor, Lists: []string{"alpha"}, Password: "correct horse battery staple"}); err != nil {
		return step("user", err)
	}
	fixture.tokens = map[string]string{asBad: "tdg_not-a-token-anyone-issued"}
	for _, t := range []struct {
		who, name string
		role      tidings.Role
		lists     []string
	}{
		{asAdmin, "admin", tidings.RoleAdmin, nil},
		{asEditor, "alpha-editor", tidings.RoleEditor, []string{"alpha"}},
		{asOther, "beta-editor", tidings.RoleEditor, []string{"beta"}},
		{asListAdmin, "alpha-admin", tidings.RoleAdmin, []string{"alpha"}},
		{"", "spare", tidings.RoleEditor, []string{"alpha"}},
	} {
		_, secret, err := svc.AddToken(ctx, cli, t.name, t.role, t.lists)
		if err != nil {
			return step("token "+t.name, err)
		}
		if t.who != "" {
			fixture.tokens[t.who] = secret
		}
	}
	return nil
}

// env is one test's API: a copy of the fixture database behind a real
// HTTP server, a real SMTP sink for test copies, and the OpenAPI router
// every request and response is checked against.
type env struct {
	t      testing.TB
	srv    *httptest.Server
	ops    *ops.Service
	db     *db.DB
	sink   *smtpsink.Server
	engine *mailer.Engine // the delivery engine, to play the daemon
	router routers.Router
	logs   *bytes.Buffer
}

var docOnce = sync.OnceValues(func() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(openAPI)
	if err != nil {
		return nil, err
	}
	return doc, doc.Validate(context.Background())
})

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvWith(t, smtpsink.Options{})
}

// newEnvWith is newEnv with an SMTP server that behaves as opts say.
func newEnvWith(t testing.TB, opts smtpsink.Options) *env {
	t.Helper()
	fixture.once.Do(func() { fixture.err = buildFixture() })
	if fixture.err != nil {
		t.Fatal(fixture.err)
	}
	dir := t.TempDir()
	for _, suffix := range []string{"", "-wal"} {
		b, err := os.ReadFile(filepath.Join(fixture.dir, "tidings.db"+suffix))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "tidings.db"+suffix), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	d, err := db.Open(ctx, filepath.Join(dir, "tidings.db"))
	if err != nil {
		t.Fatal(err)
	}
	sink, err := smtpsink.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	relay, err := mailer.ParseRelayURL("smtp://" + sink.Addr + "?tls=none")
	if err != nil {
		t.Fatal(err)
	}
	links := tidings.Links{Base: "https://news.example.org"}
	eng := mailer.New(mailer.Config{Relays: []mailer.Relay{relay}, Now: fixedNow},
		mailer.Deps{DB: d, Campaigns: ops.Campaigns(d, links, fixedNow), Recipients: subscribers.NewStore(d)})
	logs := &bytes.Buffer{}
	svc := ops.New(ops.Deps{DB: d, Links: links, Now: fixedNow, Mail: eng})
	srv := httptest.NewServer(New(Config{Ops: svc, Now: fixedNow, Logger: newTestLogger(logs)}))
	t.Cleanup(func() {
		srv.Close()
		svc.WaitJobs()
		sink.Close()
		d.Close()
	})
	doc, err := docOnce()
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, srv: srv, ops: svc, db: d, sink: sink, engine: eng, router: router, logs: logs}
}

// raw is a request body that is not JSON (Markdown, CSV, broken JSON).
type raw struct {
	ctype string
	data  string
}

// result is an answer of the API.
type result struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into v, failing the test when it is not JSON.
func (r *result) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("answer is not JSON (%v): %s", err, r.body)
	}
}

// problem decodes a problem document.
func (r *result) problem(t testing.TB) Problem {
	t.Helper()
	var p Problem
	r.json(t, &p)
	return p
}

// call sends a request that the OpenAPI document must accept, and checks
// the answer against the document.
func (e *env) call(who, method, path string, body any) *result {
	e.t.Helper()
	return e.send(who, method, path, body, true)
}

// callBad sends a request the document may refuse (bad input); the answer
// is still checked against the document.
func (e *env) callBad(who, method, path string, body any) *result {
	e.t.Helper()
	return e.send(who, method, path, body, false)
}

func (e *env) send(who, method, path string, body any, checkRequest bool) *result {
	t := e.t
	t.Helper()
	var data []byte
	ctype := ""
	switch b := body.(type) {
	case nil:
	case raw:
		data, ctype = []byte(b.data), b.ctype
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
		ctype = "application/json"
	}
	newReq := func() *http.Request {
		req, err := http.NewRequest(method, e.srv.URL+Prefix+path, bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if who != asNone {
			req.Header.Set("Authorization", "Bearer "+fixture.tokens[who])
		}
		return req
	}
	res, err := e.srv.Client().Do(newReq())
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	resBody, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := &result{status: res.StatusCode, header: res.Header, body: resBody}
	e.checkAnswer(method, path, out)
	e.validate(newReq(), data, checkRequest, out)
	return out
}

// checkAnswer holds for every answer: errors are problem documents whose
// status is the HTTP status, 401 names the Bearer scheme, and no 500
// happens in a test.
func (e *env) checkAnswer(method, path string, r *result) {
	t := e.t
	t.Helper()
	if r.status >= 500 && r.status != http.StatusServiceUnavailable {
		t.Errorf("%s %s: %d %s\nserver log: %s", method, path, r.status, r.body, e.logs)
	}
	if r.status < 400 {
		return
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("%s %s: %d with Content-Type %q, want application/problem+json", method, path, r.status, ct)
		return
	}
	var p Problem
	if err := json.Unmarshal(r.body, &p); err != nil || p.Status != r.status || p.Title == "" || p.Detail == "" || p.Type == "" {
		t.Errorf("%s %s: bad problem document for %d: %s", method, path, r.status, r.body)
	}
	if strings.Contains(p.Detail, "\n") {
		t.Errorf("%s %s: detail is more than one line: %q", method, path, p.Detail)
	}
	if r.status == http.StatusUnauthorized && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("%s %s: 401 without WWW-Authenticate: Bearer", method, path)
	}
	if r.status == http.StatusUnprocessableEntity && len(p.Errors) == 0 {
		t.Errorf("%s %s: 422 without errors naming the field: %s", method, path, r.body)
	}
}

// validate checks the request (when it should be valid) and the response
// against the OpenAPI document: this is what keeps the document true.
func (e *env) validate(req *http.Request, reqBody []byte, checkRequest bool, r *result) {
	t := e.t
	t.Helper()
	if req.Method == http.MethodHead {
		return // HEAD is GET without a body: the document lists GET
	}
	route, params, err := e.router.FindRoute(req)
	if err != nil {
		if r.status == http.StatusNotFound || r.status == http.StatusMethodNotAllowed {
			return // a path or method the API does not have: nothing to check against
		}
		t.Errorf("%s %s: not in openapi.json: %v", req.Method, req.URL.Path, err)
		return
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	ctx := context.Background()
	if checkRequest {
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			t.Errorf("%s %s: request breaks openapi.json: %v", req.Method, req.URL.Path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: r.status, Header: r.header,
		Body: io.NopCloser(bytes.NewReader(r.body)), Options: opts}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("%s %s: %d answer breaks openapi.json: %v\n%s", req.Method, req.URL.Path, r.status, err, r.body)
	}
}
