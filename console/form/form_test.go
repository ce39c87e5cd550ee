package form

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

func post(v url.Values) *http.Request {
	r, _ := http.NewRequest("POST", "/", strings.NewReader(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// fieldOf is the field an error names, "" for none.
func fieldOf(err error) string {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Field
	}
	return ""
}

func TestParseSchedule(t *testing.T) {
	for _, c := range []struct{ in, want, bad string }{
		{"2026-12-07T08:00", "2026-12-07 08:00", ""},
		{"2026-12-07T08:00:30", "2026-12-07 08:00", ""},
		{"", "", "at"},
		{"tomorrow", "", "at"},
		{"2026-12-07 08:00", "", "at"},
	} {
		f, err := ParseSchedule(post(url.Values{"at": {c.in}}))
		if fieldOf(err) != c.bad || (c.bad == "" && f.At != c.want) {
			t.Errorf("%q: %+v %v", c.in, f, err)
		}
		if c.bad != "" && !errors.Is(err, ErrBad) {
			t.Errorf("%q: %v is not ErrBad", c.in, err)
		}
	}
}

func TestParseTestCopy(t *testing.T) {
	for _, c := range []struct {
		to, as string
		want   []string
		bad    string
	}{
		{"a@example.org", "", []string{"a@example.org"}, ""},
		{" a@example.org , b@example.org ,", "r@example.org", []string{"a@example.org", "b@example.org"}, ""},
		{"", "", nil, "to"},
		{"a@example.org, nope", "", nil, "to"},
		{"a@example.org", "not an address", nil, "as"},
		{strings.Repeat("x@example.org,", 11), "", nil, "to"},
	} {
		f, err := ParseTestCopy(post(url.Values{"to": {c.to}, "as": {c.as}}))
		if fieldOf(err) != c.bad || (c.bad == "" && !slices.Equal(f.To, c.want)) {
			t.Errorf("%q/%q: %+v %v", c.to, c.as, f, err)
		}
	}
}

func TestParseArticleSendsOnlyWhatChanged(t *testing.T) {
	f, err := ParseArticle(post(url.Values{"orig_title": {"T"}, "title": {"T"}, "orig_topics": {"b,a"}, "topics": {"a", "b"}}))
	if err != nil || f.TitleChanged() || f.TopicsChanged() {
		t.Errorf("nothing changed: %+v %v", f, err)
	}
	f, _ = ParseArticle(post(url.Values{"orig_title": {"T"}, "orig_topics": {"a"}}))
	if f.Title != "T" || !f.TopicsChanged() || len(f.Topics) != 0 {
		t.Errorf("script's post (no title, topics cleared): %+v", f)
	}
	f, _ = ParseArticle(post(url.Values{"orig_title": {"T"}, "title": {"line\r\nbreak"}}))
	if f.Title != "line break" {
		t.Errorf("title %q", f.Title)
	}
	for _, title := range []string{"", "  ", strings.Repeat("长", 301)} {
		if _, err := ParseArticle(post(url.Values{"orig_title": {"T"}, "title": {title}})); fieldOf(err) != "title" {
			t.Errorf("title %q: %v", title, err)
		}
	}
}

func TestKeywords(t *testing.T) {
	if got := Keywords(" 宁波，研发加速器, AI ,,\nchips "); !slices.Equal(got, []string{"宁波", "研发加速器", "AI", "chips"}) {
		t.Errorf("%q", got)
	}
	if got := Keywords(" , "); got != nil {
		t.Errorf("%q", got)
	}
	// A keyword given twice (in any case) is kept once, as the store keeps it.
	if got := Keywords("AI, ai\nAI，芯片"); !slices.Equal(got, []string{"AI", "芯片"}) {
		t.Errorf("%q", got)
	}
}

func TestParseGrantAndList(t *testing.T) {
	for _, c := range []struct {
		v    url.Values
		user bool
		bad  string
	}{
		{url.Values{"name": {"a@example.org"}, "role": {"editor"}}, true, ""},
		{url.Values{"name": {"ci-bot"}, "role": {"admin"}}, false, ""},
		{url.Values{"name": {"Not A Slug"}, "role": {"admin"}}, false, "name"},
		{url.Values{"name": {"a@example.org"}, "role": {"owner"}}, true, "role"},
		{url.Values{"name": {"a@example.org"}, "role": {"editor"}, "password": {"short"}}, true, "password"},
	} {
		if _, err := ParseGrant(post(c.v), c.user); fieldOf(err) != c.bad {
			t.Errorf("%v: %v, want field %q", c.v, err, c.bad)
		}
	}
	for _, c := range []struct {
		v   url.Values
		bad string
	}{
		{url.Values{"slug": {"keji"}, "name": {"科技"}, "from": {"K <k@example.org>"}, "lang": {"zh"}}, ""},
		{url.Values{"slug": {"keji"}, "name": {""}, "from": {"K <k@example.org>"}, "lang": {"zh"}}, "name"},
		{url.Values{"slug": {"keji"}, "name": {"科技"}, "from": {"K <k@example.org>"}, "lang": {"fr"}}, "lang"},
		{url.Values{"slug": {"keji"}, "name": {"科技"}, "from": {"K <k@example.org>"}, "lang": {"zh"}, "clicks": {"sometimes"}}, "clicks"},
		{url.Values{"slug": {"-x"}, "name": {"科技"}, "from": {"K <k@example.org>"}, "lang": {"zh"}}, "slug"},
	} {
		if _, err := ParseList(post(c.v), true); fieldOf(err) != c.bad {
			t.Errorf("%v: %v, want field %q", c.v, err, c.bad)
		}
	}
}

func TestParseNewPassword(t *testing.T) {
	for _, c := range []struct {
		old, pw, confirm string
		withOld          bool
		bad              string
	}{
		{"", "long enough pw", "long enough pw", false, ""},
		{"", "long enough pw", "long enough pw", true, "old"},
		{"x", "short", "short", true, "password"},
		{"x", "long enough pw", "long enough px", true, "confirm"},
	} {
		_, err := ParseNewPassword(post(url.Values{"old": {c.old}, "password": {c.pw}, "confirm": {c.confirm}}), c.withOld)
		if fieldOf(err) != c.bad {
			t.Errorf("%+v: %v", c, err)
		}
	}
}
