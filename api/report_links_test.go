package api

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/tidings/tidings/track"
)

// A report's links come back with every key the OpenAPI document names
// (the harness checks the answer against it, which allows no others), and
// a link reaches its article's readers.
func TestReportLinksMatchTheDocument(t *testing.T) {
	e := newEnv(t)
	id := fixture.ids["alpha7"]
	if err := track.Register(context.Background(), e.db, track.Plan{Issue: id, Links: []track.Link{{Position: 1, Link: 1, URL: "https://example.org/grid"}}}); err != nil {
		t.Fatal(err)
	}
	r := e.call(asEditor, "GET", fmt.Sprintf("/issues/%d/report", id), nil)
	var rep struct {
		Articles []struct{ Position, Recipients int }
		Links    []map[string]any
	}
	r.json(t, &rep)
	if r.status != http.StatusOK || len(rep.Links) != 1 || len(rep.Articles) == 0 {
		t.Fatalf("report: %d %s", r.status, r.body)
	}
	l := rep.Links[0]
	for _, k := range []string{"url", "position", "index", "recipients", "clicks_human", "clicks_machine"} {
		if _, ok := l[k]; !ok {
			t.Errorf("link %v lacks %q", l, k)
		}
	}
	if l["url"] != "https://example.org/grid" || l["recipients"] != float64(rep.Articles[0].Recipients) {
		t.Errorf("link %v: want the target and article 1's %d recipients", l, rep.Articles[0].Recipients)
	}
}
