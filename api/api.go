// Package api serves the JSON API under /api/v1: every operation of
// package ops over HTTP, authenticated by bearer tokens, with errors as
// RFC 9457 problem details and an OpenAPI 3.1 document (openapi.json) that
// tests keep true to the routes.
//
// The API calls only package ops: roles, lists and the audit log are
// decided there, never here.
package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/ops"
)

// Prefix is where the API lives; mount New's handler at Prefix + "/".
const Prefix = "/api/v1"

// Config is what the API needs from the process that serves it.
type Config struct {
	Ops    *ops.Service // required: every route but the document calls it
	Logger *slog.Logger // nil: discard; 500s are logged here, once each
	// Now is the clock of whatever the API itself decides by time; the
	// operations keep their own (ops.Deps.Now). nil: time.Now.
	Now func() time.Time
}

// server is the API's state: the operations it calls and how it logs.
type server struct {
	ops *ops.Service
	log *slog.Logger
	now func() time.Time
}

// handlerFunc is one route's handler: it gets the authenticated actor and
// returns an error that problemFor maps to a status.
type handlerFunc func(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error

// route is one method and path of the API. Path is relative to Prefix and
// written as both net/http.ServeMux and OpenAPI write it ("/issues/{id}").
type route struct {
	Method string
	Path   string
	// Public routes need no token (only the OpenAPI document).
	Public  bool
	handler handlerFunc
}

// routes is every route of the API, in one table so that the OpenAPI test
// can check the document against it in both directions.
var routes = []route{
	{Method: "GET", Path: "/openapi.json", Public: true, handler: getOpenAPI},

	{Method: "GET", Path: "/me", handler: getMe},
	{Method: "GET", Path: "/home", handler: getHome},

	{Method: "GET", Path: "/lists", handler: getLists},
	{Method: "POST", Path: "/lists", handler: postList},
	{Method: "GET", Path: "/lists/{list}", handler: getList},
	{Method: "PATCH", Path: "/lists/{list}", handler: patchList},
	{Method: "DELETE", Path: "/lists/{list}", handler: deleteList},

	{Method: "GET", Path: "/lists/{list}/topics", handler: getTopics},
	{Method: "POST", Path: "/lists/{list}/topics", handler: postTopic},
	{Method: "PATCH", Path: "/lists/{list}/topics/{topic}", handler: patchTopic},
	{Method: "DELETE", Path: "/lists/{list}/topics/{topic}", handler: deleteTopic},
	{Method: "GET", Path: "/lists/{list}/keyword-preview", handler: getKeywordPreview},

	{Method: "GET", Path: "/issues", handler: getIssues},
	{Method: "POST", Path: "/lists/{list}/issues", handler: postIssue},
	{Method: "GET", Path: "/issues/{id}", handler: getIssue},
	{Method: "POST", Path: "/issues/{id}/retag", handler: postRetag},
	{Method: "POST", Path: "/issues/{id}/ready", handler: postReady},
	{Method: "PATCH", Path: "/issues/{id}/articles/{position}", handler: patchArticle},

	{Method: "GET", Path: "/issues/{id}/audience", handler: getAudience},
	{Method: "GET", Path: "/issues/{id}/preview", handler: getPreview},
	{Method: "GET", Path: "/issues/{id}/preview.eml", handler: getPreviewEML},
	{Method: "POST", Path: "/issues/{id}/test", handler: postTest},

	{Method: "POST", Path: "/issues/{id}/schedule", handler: postSchedule},
	{Method: "GET", Path: "/schedules", handler: getSchedules},
	{Method: "POST", Path: "/lists/{list}/schedules", handler: postRecurring},
	{Method: "DELETE", Path: "/schedules/{id}", handler: deleteSchedule},

	{Method: "POST", Path: "/issues/{id}/send", handler: postSend},
	{Method: "POST", Path: "/issues/{id}/send/pause", handler: postPause},
	{Method: "POST", Path: "/issues/{id}/send/resume", handler: postResume},
	{Method: "POST", Path: "/issues/{id}/send/cancel", handler: postCancel},
	{Method: "POST", Path: "/issues/{id}/send/retry", handler: postRetry},
	{Method: "GET", Path: "/issues/{id}/status", handler: getStatus},

	{Method: "GET", Path: "/issues/{id}/report", handler: getReport},
	{Method: "GET", Path: "/issues/{id}/report.csv", handler: getReportCSV},
	{Method: "GET", Path: "/lists/{list}/trend", handler: getTrend},

	{Method: "GET", Path: "/lists/{list}/subscribers", handler: getSubscribers},
	{Method: "POST", Path: "/lists/{list}/subscribers", handler: postSubscriber},
	{Method: "PATCH", Path: "/lists/{list}/subscribers/{email}", handler: patchSubscriber},
	{Method: "GET", Path: "/subscribers/{email}", handler: getSubscriber},
	{Method: "DELETE", Path: "/subscribers/{email}", handler: deleteSubscriber},

	{Method: "POST", Path: "/lists/{list}/imports", handler: postImport},
	{Method: "POST", Path: "/lists/{list}/exports", handler: postExport},
	{Method: "GET", Path: "/jobs/{id}", handler: getJob},
	{Method: "GET", Path: "/jobs/{id}/output", handler: getJobOutput},

	{Method: "GET", Path: "/lists/{list}/bounces", handler: getBounces},

	{Method: "GET", Path: "/users", handler: getUsers},
	{Method: "POST", Path: "/users", handler: postUser},
	{Method: "PATCH", Path: "/users/{email}", handler: patchUser},
	{Method: "DELETE", Path: "/users/{email}", handler: deleteUser},
	{Method: "POST", Path: "/users/{email}/link", handler: postUserLink},

	{Method: "GET", Path: "/tokens", handler: getTokens},
	{Method: "POST", Path: "/tokens", handler: postToken},
	{Method: "DELETE", Path: "/tokens/{name}", handler: deleteToken},

	{Method: "GET", Path: "/audit", handler: getAudit},
}

// New returns the handler of /api/v1/…; mount it at "/api/v1/" (it also
// accepts being given the whole URL space: paths outside Prefix get 404).
func New(c Config) http.Handler {
	s := &server{ops: c.Ops, log: c.Logger, now: c.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	mux := http.NewServeMux()
	allowed := map[string][]string{}
	for _, rt := range routes {
		mux.Handle(rt.Method+" "+Prefix+rt.Path, s.wrap(rt))
		allowed[rt.Path] = append(allowed[rt.Path], rt.Method)
	}
	// A known path with another method: 405 with Allow, as a problem.
	for path, methods := range allowed {
		allow := strings.Join(methods, ", ")
		if slices.Contains(methods, "GET") {
			allow += ", HEAD"
		}
		mux.HandleFunc(Prefix+path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeProblem(w, r, s.log, errStatus(http.StatusMethodNotAllowed, "%s %s: this path takes %s", r.Method, r.URL.Path, allow))
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, s.log, errStatus(http.StatusNotFound, "%s: no such API path (see %s/openapi.json)", r.URL.Path, Prefix))
	})
	return mux
}

// wrap authenticates the request (unless the route is public), runs the
// handler and answers its error as a problem document.
func (s *server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			// A bug in a handler or an operation is a 500 problem for this
			// request, not a dropped connection.
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				writeProblem(w, r, s.log, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
			}
		}()
		var a tidings.Actor
		if !rt.Public {
			var err error
			if a, err = s.authenticate(r); err != nil {
				writeProblem(w, r, s.log, err)
				return
			}
		}
		if err := rt.handler(s, w, r, a); err != nil {
			writeProblem(w, r, s.log, err)
		}
	})
}
