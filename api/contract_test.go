package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// keysOf returns the sorted keys of a JSON object.
func keysOf(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// hasKeys fails unless obj has every key of want (CONTRACT's keys; more
// may follow).
func hasKeys(t *testing.T, what string, obj map[string]any, want ...string) {
	t.Helper()
	for _, k := range want {
		if _, ok := obj[k]; !ok {
			t.Errorf("%s: no key %q (keys %v)", what, k, keysOf(obj))
		}
	}
}

// TestListingsHaveContractKeys: lists, topics, issues, subscribers,
// schedules, users and tokens carry CONTRACT's keys, and each token sees
// only its lists.
func TestListingsHaveContractKeys(t *testing.T) {
	e := newEnv(t)
	var lists []map[string]any
	e.call(asAdmin, "GET", "/lists", nil).json(t, &lists)
	if len(lists) != 2 {
		t.Fatalf("admin sees %d lists, want 2", len(lists))
	}
	hasKeys(t, "list", lists[0], "slug", "name", "from", "lang", "tz", "subscribers")
	if _, ok := lists[0]["dkim_key"].(bool); !ok {
		t.Errorf("dkim_key should only say whether there is a key: %v", lists[0]["dkim_key"])
	}
	for who, want := range map[string]string{asEditor: "alpha", asOther: "beta", asListAdmin: "alpha"} {
		var ls []map[string]any
		e.call(who, "GET", "/lists", nil).json(t, &ls)
		if len(ls) != 1 || ls[0]["slug"] != want {
			t.Errorf("%s sees %v, want only %s", who, ls, want)
		}
	}

	var topics []map[string]any
	e.call(asEditor, "GET", "/lists/alpha/topics", nil).json(t, &topics)
	if len(topics) != 2 {
		t.Fatalf("topics: %v", topics)
	}
	hasKeys(t, "topic", topics[0], "slug", "name", "keywords", "subscribers")

	var issues []map[string]any
	e.call(asEditor, "GET", "/issues?list=alpha", nil).json(t, &issues)
	if len(issues) != 1 {
		t.Fatalf("issues: %v", issues)
	}
	hasKeys(t, "issue row", issues[0], "id", "number", "title", "status", "articles")

	var page struct {
		Subscribers []map[string]any `json:"subscribers"`
		Next        *string          `json:"next"`
	}
	e.call(asEditor, "GET", "/lists/alpha/subscribers", nil).json(t, &page)
	if len(page.Subscribers) != 3 || page.Next != nil {
		t.Fatalf("subscribers: %+v", page)
	}
	hasKeys(t, "subscriber", page.Subscribers[0], "email", "name", "status", "topics")

	var scheds []map[string]any
	e.call(asEditor, "GET", "/schedules", nil).json(t, &scheds)
	if len(scheds) != 1 {
		t.Fatalf("schedules: %v", scheds)
	}
	hasKeys(t, "schedule", scheds[0], "id", "issue", "cron", "at", "tz", "next")
	if scheds[0]["cron"] != "0 8 * * 1" || scheds[0]["issue"] != nil {
		t.Errorf("recurring schedule: %v", scheds[0])
	}
	var none []map[string]any
	e.call(asOther, "GET", "/schedules", nil).json(t, &none)
	if len(none) != 0 {
		t.Errorf("beta's editor sees alpha's schedules: %v", none)
	}

	var users, tokens []map[string]any
	e.call(asAdmin, "GET", "/users", nil).json(t, &users)
	hasKeys(t, "user", users[0], "email", "role", "lists", "last_login")
	e.call(asAdmin, "GET", "/tokens", nil).json(t, &tokens)
	hasKeys(t, "token", tokens[0], "name", "role", "lists", "last_used")
	for _, tk := range tokens {
		for _, v := range tk {
			if s, ok := v.(string); ok && s == fixture.tokens[asAdmin] {
				t.Errorf("GET /tokens shows a secret: %v", tk)
			}
		}
	}
}

// TestSubscribersPageByKeyset walks the pages with next and filters by
// status, topic and q.
func TestSubscribersPageByKeyset(t *testing.T) {
	e := newEnv(t)
	var seen []string
	path := "/lists/alpha/subscribers?limit=2"
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("next never ends")
		}
		var page struct {
			Subscribers []struct{ Email string } `json:"subscribers"`
			Next        *string                  `json:"next"`
		}
		e.call(asEditor, "GET", path, nil).json(t, &page)
		if len(page.Subscribers) > 2 {
			t.Fatalf("page of %d, limit 2", len(page.Subscribers))
		}
		for _, s := range page.Subscribers {
			seen = append(seen, s.Email)
		}
		if page.Next == nil {
			break
		}
		path = "/lists/alpha/subscribers?limit=2&cursor=" + *page.Next
	}
	if strings.Join(seen, " ") != "ann@example.org bob@example.org cat@example.org" {
		t.Errorf("pages gave %v", seen)
	}
	for q, want := range map[string]int{"topic=biomed": 2, "q=ann": 1, "status=unsubscribed": 0} {
		var page struct {
			Subscribers []any `json:"subscribers"`
		}
		e.call(asEditor, "GET", "/lists/alpha/subscribers?"+q, nil).json(t, &page)
		if len(page.Subscribers) != want {
			t.Errorf("%s: %d subscribers, want %d", q, len(page.Subscribers), want)
		}
	}
}

// TestEditorJourney is an editor's whole way through the API: import,
// see who gets what, retag, preview as two readers, a test copy that
// arrives, schedule, send, status.
func TestEditorJourney(t *testing.T) {
	e := newEnv(t)
	// Import: 201 with issue show keys.
	r := e.call(asEditor, "POST", "/lists/alpha/issues", markdown(t, "alpha-8.md"))
	if r.status != http.StatusCreated {
		t.Fatalf("import: %d %s", r.status, r.body)
	}
	var imported map[string]any
	r.json(t, &imported)
	hasKeys(t, "imported issue", imported, "id", "number", "title", "subject", "status", "articles")
	if imported["number"] != float64(8) || r.header.Get("Location") != fmt.Sprintf("%s/issues/%v", Prefix, imported["id"]) {
		t.Errorf("imported: %v, Location %q", imported, r.header.Get("Location"))
	}

	// The fixture's issue 7: article 1 energy, 2 biomed, 3 for everyone;
	// readers ann (energy), bob (all), cat (biomed).
	id := fixture.ids["alpha7"]
	var show struct {
		Subject  string
		Status   string
		Articles []struct {
			Position   int
			Title      string
			Topics     []string
			Recipients int
		}
	}
	e.call(asEditor, "GET", fmt.Sprintf("/issues/%d", id), nil).json(t, &show)
	if show.Subject != "Alpha 周报 第7期" || show.Status != "draft" || len(show.Articles) != 3 {
		t.Fatalf("issue: %+v", show)
	}
	for i, want := range []int{2, 2, 3} {
		if show.Articles[i].Recipients != want {
			t.Errorf("article %d: %d recipients, want %d", i+1, show.Articles[i].Recipients, want)
		}
	}
	type audience struct {
		Total, Skipped int
		Articles       []struct{ Position, Recipients int }
		Combinations   []struct {
			Topics      []string
			Articles    []int
			Subscribers int
		}
	}
	var aud audience
	e.call(asEditor, "GET", fmt.Sprintf("/issues/%d/audience", id), nil).json(t, &aud)
	if aud.Total != 3 || aud.Skipped != 0 || len(aud.Combinations) != 3 {
		t.Errorf("audience: %+v", aud)
	}

	// Retag article 2 to energy: cat now gets only the editor's note.
	var art map[string]any
	e.call(asEditor, "PATCH", fmt.Sprintf("/issues/%d/articles/2", id), map[string]any{"topics": []string{"energy"}}).json(t, &art)
	hasKeys(t, "article", art, "position", "title", "topics", "recipients")
	if art["tagged_by"] != "hand" || art["recipients"] != float64(2) {
		t.Errorf("patched article: %v", art)
	}
	e.call(asEditor, "GET", fmt.Sprintf("/issues/%d/audience", id), nil).json(t, &aud)
	for _, c := range aud.Combinations {
		if slices.Equal(c.Topics, []string{"biomed"}) && !slices.Equal(c.Articles, []int{3}) {
			t.Errorf("cat's combination after retagging: %+v", c)
		}
	}
	e.call(asEditor, "PATCH", fmt.Sprintf("/issues/%d/articles/2", id), map[string]any{"topics": []string{"biomed"}})

	// Preview as two readers: each sees only their articles.
	var ann, cat struct{ Subject, HTML, Text string }
	e.call(asEditor, "GET", fmt.Sprintf("/issues/%d/preview?email=ann@example.org", id), nil).json(t, &ann)
	e.call(asEditor, "GET", fmt.Sprintf("/issues/%d/preview?email=cat@example.org", id), nil).json(t, &cat)
	if !strings.Contains(ann.HTML, "电池回收厂开工") || strings.Contains(ann.HTML, "生物医药基金成立") || !strings.Contains(ann.Text, "电池回收厂开工") {
		t.Errorf("ann's preview holds the wrong articles")
	}
	if strings.Contains(cat.HTML, "电池回收厂开工") || !strings.Contains(cat.HTML, "生物医药基金成立") {
		t.Errorf("cat's preview holds the wrong articles")
	}
	if ann.Subject != "Alpha 周报 第7期" {
		t.Errorf("preview subject %q", ann.Subject)
	}
	eml := e.call(asEditor, "GET", fmt.Sprintf("/issues/%d/preview.eml?email=cat@example.org", id), nil)
	if eml.header.Get("Content-Type") != "message/rfc822" || !strings.Contains(string(eml.body), "To: ") || !strings.Contains(string(eml.body), "cat@example.org") {
		t.Errorf("preview.eml: %q %.200s", eml.header.Get("Content-Type"), eml.body)
	}
	var bySet struct{ Articles []int }
	e.call(asEditor, "GET", fmt.Sprintf("/issues/%d/preview?topics=biomed", id), nil).json(t, &bySet)
	if !slices.Equal(bySet.Articles, []int{2, 3}) {
		t.Errorf("preview for topics=biomed holds %v", bySet.Articles)
	}

	// A test copy arrives at the SMTP server.
	var sent struct {
		MessageIDs []string `json:"message_ids"`
	}
	e.call(asEditor, "POST", fmt.Sprintf("/issues/%d/test", id), map[string]any{"to": []string{"ed@example.org"}, "as": "cat@example.org"}).json(t, &sent)
	if !e.sink.Wait(1, 5*time.Second) || len(sent.MessageIDs) != 1 {
		t.Fatalf("test copy: %d messages arrived, ids %v", e.sink.Count(), sent.MessageIDs)
	}
	if m := e.sink.Messages()[0]; !slices.Equal(m.To, []string{"ed@example.org"}) {
		t.Errorf("test copy went to %v", m.To)
	}

	// Schedule in the list's zone: 201 with the schedule keys.
	r = e.call(asEditor, "POST", fmt.Sprintf("/issues/%d/schedule", id), map[string]any{"at": "2026-12-07 08:00"})
	var sc map[string]any
	r.json(t, &sc)
	if r.status != http.StatusCreated {
		t.Fatalf("schedule: %d %s", r.status, r.body)
	}
	hasKeys(t, "schedule", sc, "id", "issue", "cron", "at", "tz", "next")
	at, _ := time.Parse(time.RFC3339, fmt.Sprint(sc["at"]))
	if !at.Equal(time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)) || sc["tz"] != "Asia/Shanghai" || sc["issue"] != float64(id) {
		t.Errorf("schedule: %v (at %v), want 08:00 Asia/Shanghai", sc, at)
	}
	e.call(asEditor, "DELETE", fmt.Sprintf("/schedules/%v", sc["id"]), nil)

	// Send now: 202; the daemon sends. Status has CONTRACT's keys.
	r = e.call(asEditor, "POST", fmt.Sprintf("/issues/%d/send", id), nil)
	var acc struct{ Issue, Recipients int64 }
	r.json(t, &acc)
	if r.status != http.StatusAccepted || acc.Recipients != 3 {
		t.Errorf("send: %d %s", r.status, r.body)
	}
	var st map[string]any
	e.call(asEditor, "GET", fmt.Sprintf("/issues/%d/status", id), nil).json(t, &st)
	hasKeys(t, "status", st, "issue", "total", "sent", "failed", "skipped", "pending", "state", "rate", "eta_seconds", "failures")
	var rep map[string]any
	e.call(asEditor, "GET", fmt.Sprintf("/issues/%d/report", id), nil).json(t, &rep)
	hasKeys(t, "report", rep, "issue", "recipients", "delivered", "bounced", "complaints", "unsubscribed", "opens", "clicks", "unique_clickers", "articles", "topics", "links")
	if rc := e.call(asEditor, "GET", fmt.Sprintf("/issues/%d/report.csv", id), nil); !strings.HasPrefix(rc.header.Get("Content-Type"), "text/csv") || len(rc.body) == 0 {
		t.Errorf("report.csv: %q, %d bytes", rc.header.Get("Content-Type"), len(rc.body))
	}
}

// TestImportParseErrorNamesLine: a Markdown file that does not parse is a
// 422 whose problem names the line, and no issue is stored.
func TestImportParseErrorNamesLine(t *testing.T) {
	e := newEnv(t)
	r := e.callBad(asEditor, "POST", "/lists/alpha/issues?name=no-number.md", markdown(t, "no-number.md"))
	p := r.problem(t)
	if r.status != http.StatusUnprocessableEntity || len(p.Errors) != 1 || !strings.HasPrefix(p.Errors[0].Problem, "line 1: ") || !strings.Contains(p.Detail, "no-number.md:1") {
		t.Errorf("parse error: %d %s", r.status, r.body)
	}
}

// TestMeAndHome: a token learns who it is, and the home page shows only
// its lists with their counts and next sends.
func TestMeAndHome(t *testing.T) {
	e := newEnv(t)
	var me map[string]any
	e.call(asEditor, "GET", "/me", nil).json(t, &me)
	if me["kind"] != "token" || me["name"] != "alpha-editor" || me["role"] != "editor" || fmt.Sprint(me["lists"]) != "[alpha]" {
		t.Errorf("me: %v", me)
	}
	e.call(asAdmin, "GET", "/me", nil).json(t, &me)
	if fmt.Sprint(me["lists"]) != "[all]" {
		t.Errorf("admin's lists: %v", me["lists"])
	}
	var home []struct {
		List   struct{ Slug string }
		Counts map[string]int
		Next   []struct{ Cron *string }
	}
	e.call(asEditor, "GET", "/home", nil).json(t, &home)
	if len(home) != 1 || home[0].List.Slug != "alpha" || home[0].Counts["confirmed"] != 3 {
		t.Fatalf("home: %+v", home)
	}
	if len(home[0].Next) != 1 || home[0].Next[0].Cron == nil || *home[0].Next[0].Cron != "0 8 * * 1" {
		t.Errorf("home's next sends: %+v", home[0].Next)
	}
}

// TestAnswersAreReadableJSON: HTML in answers is not \u003c-escaped, and
// every JSON answer says nosniff.
func TestAnswersAreReadableJSON(t *testing.T) {
	e := newEnv(t)
	r := e.call(asEditor, "GET", fill("/issues/{issue}/preview?email=ann@example.org"), nil)
	if !strings.Contains(string(r.body), `"html":"<!DOCTYPE html>`) || strings.Contains(string(r.body), `\u003c`) {
		t.Errorf("preview HTML escaped: %.120s", r.body)
	}
	for _, who := range []string{asEditor, asNone} {
		r := e.call(who, "GET", "/lists", nil)
		if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("as %s: headers %v", who, r.header)
		}
	}
}
