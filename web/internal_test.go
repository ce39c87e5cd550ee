package web

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tidings/tidings"
)

func TestTextsComplete(t *testing.T) {
	en, zh := texts[tidings.LangEN], texts[tidings.LangZH]
	for k := range en {
		if _, ok := zh[k]; !ok {
			t.Errorf("zh lacks %q", k)
		}
	}
	for k := range zh {
		if _, ok := en[k]; !ok {
			t.Errorf("en lacks %q", k)
		}
	}
}

func TestLimiter(t *testing.T) {
	l := newLimiter(Limit{Every: time.Minute, Burst: 2})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	steps := []struct {
		key  string
		at   time.Duration
		want bool
	}{
		{"a", 0, true}, {"a", 0, true}, {"a", 0, false},
		{"b", 0, true},
		{"a", 30 * time.Second, false},
		{"a", time.Minute, true}, {"a", time.Minute, false},
		{"a", 10 * time.Minute, true}, {"a", 10 * time.Minute, true}, {"a", 10 * time.Minute, false},
	}
	for i, s := range steps {
		if got := l.allow(s.key, t0.Add(s.at)); got != s.want {
			t.Errorf("step %d (%s at %v): %v, want %v", i, s.key, s.at, got, s.want)
		}
	}
	// Pruning forgets only full buckets.
	l.prune(t0.Add(10*time.Minute + 30*time.Second))
	if _, ok := l.m["b"]; ok {
		t.Error("full bucket b kept")
	}
	if _, ok := l.m["a"]; !ok {
		t.Error("partly used bucket a dropped")
	}
}

func TestClientIP(t *testing.T) {
	cases := []struct {
		remote, xff string
		trust       bool
		want        string
	}{
		{"192.0.2.7:1234", "", false, "192.0.2.7"},
		{"192.0.2.7:1234", "203.0.113.9", false, "192.0.2.7"},
		{"192.0.2.7:1234", "10.0.0.1, 203.0.113.9", true, "203.0.113.9"},
		{"[2001:db8:1:2:3:4:5:6]:80", "", false, "2001:db8:1:2::/64"},
	}
	for _, c := range cases {
		s := &Server{cfg: Config{TrustForwardedFor: c.trust}}
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := s.clientIP(r); got != c.want {
			t.Errorf("%s / %q: %s, want %s", c.remote, c.xff, got, c.want)
		}
	}
}

func TestChoice(t *testing.T) {
	topics := []tidings.Topic{{Slug: "a"}, {Slug: "b"}, {Slug: "c"}}
	if c, _, err := choice(topics, []string{"a", "b", "c"}); err != nil || !c.All {
		t.Errorf("all ticked: %+v %v", c, err)
	}
	if c, _, err := choice(topics, []string{"b", "a", "a"}); err != nil || c.All || len(c.Slugs) != 2 {
		t.Errorf("two: %+v %v", c, err)
	}
	if _, _, err := choice(topics, nil); err == nil {
		t.Error("none ticked accepted")
	}
	if _, _, err := choice(topics, []string{"a", "zz"}); err == nil {
		t.Error("unknown topic accepted")
	}
	if c, _, err := choice(nil, nil); err != nil || !c.All {
		t.Errorf("list without topics: %+v %v", c, err)
	}
}

func TestIssueCache(t *testing.T) {
	var c issueCache
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	k := issueKey{1, ""}
	if _, ok := c.get(k, t0); ok {
		t.Fatal("hit in an empty cache")
	}
	c.put(k, "<p>1</p>", t0)
	if h, ok := c.get(k, t0.Add(issueTTL-time.Second)); !ok || h != "<p>1</p>" {
		t.Errorf("fresh entry: %q %v", h, ok)
	}
	if _, ok := c.get(issueKey{1, "/custom"}, t0); ok {
		t.Error("another template dir hit")
	}
	if _, ok := c.get(k, t0.Add(issueTTL)); ok {
		t.Error("expired entry hit")
	}
	for i := range int64(2 * issueCacheSize) {
		c.put(issueKey{i, ""}, "x", t0)
	}
	if len(c.m) > issueCacheSize {
		t.Errorf("%d entries, cap %d", len(c.m), issueCacheSize)
	}
}
