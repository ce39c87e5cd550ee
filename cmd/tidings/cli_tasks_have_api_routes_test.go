package main

import (
	"encoding/json"
	"io"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/tidings/tidings/api"
)

// cliTaskRoutes is, for every command (and the flags that make a task of
// their own), the API calls that do the same with a token; "" with a
// reason for what only makes sense on the server itself.
var cliTaskRoutes = map[string][]string{
	"list add": {"POST /lists"}, "list ls": {"GET /lists"}, "list set": {"PATCH /lists/{list}"}, "list rm": {"DELETE /lists/{list}"},
	"topic add": {"POST /lists/{list}/topics"}, "topic ls": {"GET /lists/{list}/topics"},
	"topic set": {"PATCH /lists/{list}/topics/{topic}"}, "topic rm": {"DELETE /lists/{list}/topics/{topic}"},
	"sub add": {"POST /lists/{list}/subscribers"}, "sub ls": {"GET /lists/{list}/subscribers"}, "sub show": {"GET /subscribers/{email}"},
	"sub topics": {"PATCH /lists/{list}/subscribers/{email}"}, "sub status": {"PATCH /lists/{list}/subscribers/{email}"},
	"sub unsubscribe": {"PATCH /lists/{list}/subscribers/{email}"}, "sub delete": {"DELETE /subscribers/{email}"},
	"sub import": {"POST /lists/{list}/imports", "GET /jobs/{id}"}, "sub export": {"POST /lists/{list}/exports", "GET /jobs/{id}/output"},
	"issue import": {"POST /lists/{list}/issues"}, "issue ls": {"GET /issues"}, "issue show": {"GET /issues/{id}"},
	"issue tag": {"PATCH /issues/{id}/articles/{position}"}, "issue retag": {"POST /issues/{id}/retag"}, "issue ready": {"POST /issues/{id}/ready"},
	"issue preview": {"GET /issues/{id}/preview", "GET /issues/{id}/preview.eml"},
	"schedule add":  {"POST /issues/{id}/schedule"}, "schedule add --cron": {"POST /lists/{list}/schedules"},
	"schedule ls": {"GET /schedules"}, "schedule rm": {"DELETE /schedules/{id}"},
	"send": {"POST /issues/{id}/send"}, "send --retry-failed": {"POST /issues/{id}/send/retry"},
	"send --test-to": {"POST /issues/{id}/test"}, "send --dry-run": {"GET /issues/{id}/audience"},
	"status": {"GET /issues/{id}/status"},
	"report": {"GET /issues/{id}/report"}, "report --csv": {"GET /issues/{id}/report.csv"}, "report --list": {"GET /lists/{list}/trend"},
	"bounces ls": {"GET /lists/{list}/bounces"},
	"user add":   {"POST /users"}, "user ls": {"GET /users"}, "user set": {"PATCH /users/{email}"},
	"user link": {"POST /users/{email}/link"}, "user rm": {"DELETE /users/{email}"},
	"token add": {"POST /tokens"}, "token ls": {"GET /tokens"}, "token rm": {"DELETE /tokens/{name}"},
	"audit ls": {"GET /audit"},
	// The machine's own: the daemon, a local demo, a key file written to disk.
	"serve": {""}, "demo": {""}, "dkim keygen": {""},
	// A directory on the server, which a token should not choose.
	"list set --templates": {""},
}

// TestEveryCLITaskHasAnAPICall: an admin can do every command-line task
// through the API with a token. Every command of the CLI is in
// cliTaskRoutes (a new command without an API call fails here), and every
// call named there is in the API's OpenAPI document (which the api tests
// keep equal to its routes).
func TestEveryCLITaskHasAnAPICall(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	calls := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			calls[strings.ToUpper(method)+" "+path] = true
		}
	}
	root := NewApp(strings.NewReader(""), io.Discard, io.Discard, func(string) string { return "" }).rootCmd()
	var leaves []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if !c.HasSubCommands() {
			leaves = append(leaves, c)
		}
		for _, s := range c.Commands() {
			if s.Hidden || s.Name() == "help" || s.Name() == "completion" {
				continue
			}
			walk(s)
		}
	}
	walk(root)
	seen := map[string]bool{}
	for _, c := range leaves {
		name := strings.TrimPrefix(c.CommandPath(), "tidings ")
		seen[name] = true
		if _, ok := cliTaskRoutes[name]; !ok {
			t.Errorf("tidings %s has no API call in cliTaskRoutes", name)
		}
	}
	var keys []string
	for k := range cliTaskRoutes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd, flag, _ := strings.Cut(k, " --")
		if !seen[cmd] {
			t.Errorf("cliTaskRoutes names %q, which is no command", cmd)
		}
		if flag != "" {
			c, _, err := root.Find(strings.Fields(cmd))
			if err != nil || c.Flags().Lookup(flag) == nil {
				t.Errorf("cliTaskRoutes names --%s, which tidings %s does not have", flag, cmd)
			}
		}
		for _, call := range cliTaskRoutes[k] {
			if call != "" && !calls[call] {
				t.Errorf("tidings %s: %s is not in the API", k, call)
			}
		}
	}
}
