package track

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestTokenRoundTrip(t *testing.T) {
	s := NewSigner(testSecret)
	for _, r := range []Ref{
		{Kind: Click, Issue: 1, Position: 1, Link: 1, Sent: sentAt, Nonce: 7},
		{Kind: Open, Issue: 123456, Sent: sentAt, Nonce: 0xffffffff, TopicSet: 1<<63 | 5, Subscriber: 9_999_999},
		{Kind: Honeypot, Test: true, Issue: 3, Sent: sentAt},
	} {
		tok := s.Sign(r)
		got, err := s.Verify(tok, r.Kind)
		if err != nil {
			t.Fatalf("%+v: %v", r, err)
		}
		if got != r {
			t.Errorf("round trip %+v → %+v", r, got)
		}
		if u := "https://news.example.org/c/" + tok; len(u) > 120 {
			t.Errorf("link is %d characters", len(u))
		}
	}
}

// Every way to get a token wrong is the same error, and no token of one
// kind or one link serves as another.
func TestTokenRejects(t *testing.T) {
	s := NewSigner(testSecret)
	r := Ref{Kind: Click, Issue: 5, Position: 2, Link: 3, Sent: sentAt, Nonce: 42, TopicSet: 3}
	tok := s.Sign(r)
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	flip := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	other := r
	other.Link = 4
	cases := map[string]struct {
		tok  string
		kind Kind
	}{
		"empty":                {"", Click},
		"truncated by one":     {tok[:len(tok)-1], Click},
		"truncated to half":    {tok[:len(tok)/2], Click},
		"extended":             {tok + "A", Click},
		"not base64":           {strings.Repeat("*", len(tok)), Click},
		"padding":              {tok + "==", Click},
		"kind byte flipped":    {flip(0), Click},
		"issue flipped":        {flip(1), Click},
		"link flipped":         {flip(3), Click},
		"mac flipped":          {flip(len(raw) - 1), Click},
		"as an open":           {tok, Open},
		"as a honeypot":        {tok, Honeypot},
		"other secret":         {NewSigner([]byte("another secret of thirty-two by.")).Sign(r), Click},
		"huge":                 {strings.Repeat("A", 4000), Click},
		"valid-looking random": {base64.RawURLEncoding.EncodeToString(make([]byte, len(raw))), Click},
	}
	for name, c := range cases {
		if _, err := s.Verify(c.tok, c.kind); err != ErrBadToken {
			t.Errorf("%s: err %v, want ErrBadToken", name, err)
		}
	}
	if s.Sign(other) == tok {
		t.Error("two links share a token")
	}
	// an open token for the same message is not a click token
	o := r
	o.Kind = Open
	if _, err := s.Verify(s.Sign(o), Click); err == nil {
		t.Error("open token verified as a click")
	}
	// the reader tokens' secret used as is does not make tracking tokens
	if string(NewSigner(testSecret).key) == string(testSecret) {
		t.Error("tracking key is the database secret itself")
	}
}

// The redirect answers 302 only to a verified click token naming a
// registered link; every bad token is 404 with no Location.
func TestRedirect(t *testing.T) {
	f := newFixture(t, "aggregate", "aggregate")
	good := f.ref(Click, 1, 1, 1, 0)
	res := f.do(t, sentAt.Add(time.Hour), "GET", f.url(good), "Mozilla/5.0 (X11) Firefox/130")
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "https://example.com/one?a=1&b=2" {
		t.Fatalf("good click: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", res.Header.Get("Cache-Control"))
	}
	res = f.do(t, sentAt.Add(time.Hour), "HEAD", f.url(good), "Mozilla/5.0")
	if res.StatusCode != http.StatusFound {
		t.Errorf("HEAD: %d", res.StatusCode)
	}
	tok := f.signer.Sign(good)
	unknown := f.ref(Click, 9, 9, 1, 0)
	deleted := good
	deleted.Issue = 999
	open := f.ref(Open, 0, 0, 1, 0)
	for name, u := range map[string]string{
		"tampered":        f.srv.URL + "/c/" + tok[:len(tok)-2] + "AA",
		"truncated":       f.srv.URL + "/c/" + tok[:20],
		"open token":      f.srv.URL + "/c/" + f.signer.Sign(open),
		"click as open":   f.srv.URL + "/o/" + tok,
		"unknown link":    f.url(unknown),
		"unknown issue":   f.url(deleted),
		"no token":        f.srv.URL + "/c/",
		"url as token":    f.srv.URL + "/c/https:%2F%2Fevil.example",
		"honeypot as img": f.srv.URL + "/o/" + f.signer.Sign(f.ref(Honeypot, 0, 0, 1, 0)),
	} {
		res := f.do(t, sentAt.Add(time.Hour), "GET", u, "Mozilla/5.0")
		if res.StatusCode != http.StatusNotFound || res.Header.Get("Location") != "" {
			t.Errorf("%s: %d Location %q, want 404 and no redirect", name, res.StatusCode, res.Header.Get("Location"))
		}
	}
	res = f.do(t, sentAt.Add(time.Hour), "GET", f.url(open), "Mozilla/5.0 Firefox")
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/gif" || !strings.Contains(res.Header.Get("Cache-Control"), "no-store") {
		t.Errorf("open: %d %v", res.StatusCode, res.Header)
	}
	res = f.do(t, sentAt.Add(time.Hour), "GET", f.url(f.ref(Honeypot, 0, 0, 2, 0)), "Mozilla/5.0")
	if res.StatusCode != http.StatusNoContent || res.Header.Get("Location") != "" {
		t.Errorf("honeypot: %d", res.StatusCode)
	}
	f.settle(t)
	got := f.counts(t)
	want := map[string]int{
		"click 1/1 human ":           1,
		"click 1/1 machine head":     1,
		"open 0/0 human ":            1,
		"click 0/0 machine honeypot": 1, // another message's honeypot
	}
	if !equalCounts(got, want) {
		t.Errorf("counts %v, want %v", got, want)
	}
}

func equalCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A flood of forged tokens costs a verify and nothing else: with the
// database closed under it, every forged click is still a plain 404.
func TestForgedFloodTouchesNoDatabase(t *testing.T) {
	f := newFixture(t, "aggregate", "off")
	f.d.Close()
	raw := make([]byte, 26)
	for i := range 200 {
		raw[0], raw[1], raw[5] = 'c', byte(i), byte(i>>3)
		u := f.srv.URL + "/c/" + base64.RawURLEncoding.EncodeToString(raw)
		if res := f.do(t, sentAt.Add(time.Hour), "GET", u, "Mozilla/5.0"); res.StatusCode != http.StatusNotFound {
			t.Fatalf("forged token %d: %d, want 404 without touching the closed database", i, res.StatusCode)
		}
	}
	if n := f.tr.Pending(); n != 0 {
		t.Errorf("%d events buffered for forged tokens", n)
	}
}

// BenchmarkSign is the cost of one token as a message is written.
func BenchmarkSign(b *testing.B) {
	s := NewSigner(testSecret)
	r := Ref{Kind: Click, Issue: 42, Position: 3, Link: 2, Sent: sentAt, Nonce: 7, TopicSet: 5, Subscriber: 123456}
	b.ReportAllocs()
	var buf []byte
	for b.Loop() {
		buf = s.AppendSign(buf[:0], &r)
	}
}

// BenchmarkVerify is the cost of a forged token: one HMAC.
func BenchmarkVerify(b *testing.B) {
	s := NewSigner(testSecret)
	tok := NewSigner([]byte("another key")).Sign(Ref{Kind: Click, Issue: 42, Position: 3, Link: 2, Sent: sentAt})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Verify(tok, Click); err == nil {
			b.Fatal("forged token verified")
		}
	}
}
