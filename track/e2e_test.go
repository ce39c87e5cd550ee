package track_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/db/dbtest"
	"github.com/tidings/tidings/issues"
	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/ops"
	"github.com/tidings/tidings/smtpsink"
	"github.com/tidings/tidings/subscribers"
	"github.com/tidings/tidings/track"
)

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// received is one delivered message as its reader's client sees it.
type received struct {
	to       string
	html     string
	text     string
	links    []string // tracked (or plain) article links in the HTML part, in order
	honeypot string
	pixel    string
}

// world is a real send of the sample issue (a link added to each
// article) to 4 readers through the delivery engine and an SMTP server,
// and a tracker on a real HTTP server whose clock the test moves.
type world struct {
	d     *db.DB
	clk   *testClock
	tr    *track.Tracker
	srv   *httptest.Server
	issue int64
	msgs  map[string]*received // by address
}

func newWorld(t *testing.T, clicks, opens string) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{d: dbtest.MustOpenDB(t), clk: &testClock{t: t0}, msgs: map[string]*received{}}
	var listID int64
	topics := []tidings.Topic{
		{Slug: "ageing", Name: "养老", Keywords: []string{"养老"}},
		{Slug: "biomed", Name: "生物医药", Keywords: []string{"生物医药"}},
		{Slug: "transfer", Name: "成果转化", Keywords: []string{"成果转化"}},
		{Slug: "space", Name: "航天", Keywords: []string{"独角兽"}},
	}
	err := w.d.WriteTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO lists (slug, name, from_addr, lang, created_at, clicks, opens) VALUES ('keji', '科技情报参考', '科技情报 <news@example.org>', 'zh', 1, ?, ?)`, clicks, opens)
		if err != nil {
			return err
		}
		listID, _ = res.LastInsertId()
		for i := range topics {
			res, err := tx.Exec(`INSERT INTO topics (list_id, slug, name, keywords, created_at) VALUES (?, ?, ?, ?, 1)`, listID, topics[i].Slug, topics[i].Name, topics[i].Keywords[0])
			if err != nil {
				return err
			}
			topics[i].ID, _ = res.LastInsertId()
			topics[i].ListID = listID
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("../testdata/keji-qingbao-2024-07.md")
	if err != nil {
		t.Fatal(err)
	}
	is, err := issues.NewStore(w.d).Import(ctx, listID, "keji.md", src, topics)
	if err != nil {
		t.Fatal(err)
	}
	w.issue = is.ID
	if _, err := w.d.W.Exec(`UPDATE articles SET body = body || char(10) || char(10) || '[原文](https://source.example.cn/a/' || position || ')' WHERE issue_id = ?`, is.ID); err != nil {
		t.Fatal(err)
	}
	// readers 1..4: all topics; ageing; biomed+transfer; space
	if err := mailer.InsertSubscribers(ctx, w.d, listID, 4); err != nil {
		t.Fatal(err)
	}
	sink, err := smtpsink.Start(smtpsink.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	relay, err := mailer.ParseRelayURL("smtp://" + sink.Addr)
	if err != nil {
		t.Fatal(err)
	}
	eng := mailer.New(mailer.Config{Relays: []mailer.Relay{relay}, Poll: 10 * time.Millisecond, Now: w.clk.Now},
		mailer.Deps{DB: w.d, Campaigns: ops.Campaigns(w.d, tidings.Links{Base: "https://news.example.org"}, w.clk.Now), Recipients: subscribers.NewStore(w.d)})
	if rep, err := eng.Send(ctx, is.ID, mailer.SendOptions{}); err != nil || rep.Sent != 4 {
		t.Fatalf("send: %+v %v", rep, err)
	}
	for _, m := range sink.Messages() {
		r := parseReceived(t, m.Data)
		r.to = m.To[0]
		w.msgs[r.to] = r
	}
	secret, _ := w.d.Secret(ctx)
	w.tr, err = track.New(track.Config{DB: w.d, Signer: track.NewSigner(secret), Now: w.clk.Now,
		ClientIP: func(r *http.Request) netip.Addr { ip, _ := netip.ParseAddr(r.Header.Get("X-Forwarded-For")); return ip }})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	w.tr.Routes(mux)
	w.srv = httptest.NewServer(mux)
	t.Cleanup(w.srv.Close)
	return w
}

func parseReceived(t *testing.T, raw []byte) *received {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	_, params, _ := mime.ParseMediaType(m.Header.Get("Content-Type"))
	mr := multipart.NewReader(m.Body, params["boundary"])
	r := &received{}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(base64.NewDecoder(base64.StdEncoding, p))
		if strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			r.html = string(b)
		} else {
			r.text = string(b)
		}
	}
	doc, err := html.Parse(strings.NewReader(r.html))
	if err != nil {
		t.Fatal(err)
	}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			at := map[string]string{}
			for _, a := range n.Attr {
				at[a.Key] = a.Val
			}
			switch {
			case n.Data == "a" && at["aria-hidden"] == "true":
				r.honeypot = at["href"]
			case n.Data == "a" && (strings.Contains(at["href"], "/c/") || strings.Contains(at["href"], "source.example.cn")):
				r.links = append(r.links, at["href"])
			case n.Data == "img" && strings.Contains(at["src"], "/o/"):
				r.pixel = at["src"]
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return r
}

const (
	uaMimecast = "Mozilla/5.0 (compatible; Mimecast URL Protect)"
	uaChrome   = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	uaFirefox  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0"
	uaGmail    = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)

// hit requests u (a link from a message, on the public base) from the
// test's server at t0+after.
func (w *world) hit(t *testing.T, after time.Duration, method, u, ua, ip string) int {
	t.Helper()
	w.clk.Set(t0.Add(after))
	u = strings.Replace(u, "https://news.example.org", w.srv.URL, 1)
	req, _ := http.NewRequest(method, u, nil)
	req.Header.Set("User-Agent", ua)
	req.Header.Set("X-Forwarded-For", ip)
	res, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func (w *world) reader(t *testing.T, n int) *received {
	t.Helper()
	for to, r := range w.msgs {
		if strings.HasPrefix(to, "bench000000"+string(rune('0'+n-1))) {
			return r
		}
	}
	t.Fatalf("no message for reader %d in %v", n, w.msgs)
	return nil
}

// replay is the recorded traffic: a gateway that HEADs and GETs every
// link and the honeypot on delivery, Apple's proxy fetching an image on
// delivery, a browser-like sandbox 40 s later, Gmail's proxy on delivery
// and an hour later, and three people clicking much later.
func (w *world) replay(t *testing.T) {
	a, b, c, d := w.reader(t, 1), w.reader(t, 2), w.reader(t, 3), w.reader(t, 4)
	for i, l := range a.links { // gateway scanning reader 1's mail
		w.hit(t, 2*time.Second+time.Duration(i)*50*time.Millisecond, "HEAD", l, uaMimecast, "198.51.100.7")
		w.hit(t, 2*time.Second+time.Duration(i)*50*time.Millisecond+10*time.Millisecond, "GET", l, uaMimecast, "198.51.100.7")
	}
	w.hit(t, 3*time.Second, "GET", a.honeypot, uaMimecast, "198.51.100.7")
	for i, l := range c.links { // sandbox with a browser's UA, after the scan window
		w.hit(t, 40*time.Second+time.Duration(i)*100*time.Millisecond, "GET", l, uaChrome, "192.0.2.50")
	}
	w.hit(t, 41*time.Second, "GET", c.honeypot, uaChrome, "192.0.2.50")
	if b.pixel != "" {
		w.hit(t, 4*time.Second, "GET", b.pixel, "Mozilla/5.0", "17.58.101.7") // Apple MPP prefetch
		w.hit(t, 5*time.Second, "GET", d.pixel, uaGmail, "66.249.84.1")       // Gmail proxy on delivery
		w.hit(t, 2*time.Hour, "GET", c.pixel, uaGmail, "66.249.84.1")         // reader 3 opens in Gmail
	}
	// the people (order of arrival differs from the scanners')
	if code := w.hit(t, 30*time.Minute, "GET", b.links[0], uaFirefox, "203.0.113.2"); code != 302 {
		t.Fatalf("person's click: %d", code)
	}
	w.hit(t, time.Hour, "GET", a.links[1], uaFirefox, "203.0.113.1")
	w.hit(t, 3*time.Hour, "GET", c.links[0], uaChrome, "203.0.113.3")
	w.clk.Set(t0.Add(5 * time.Hour))
	if err := w.tr.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// figures are sums over track_counts.
func (w *world) figure(t *testing.T, where string, args ...any) int {
	t.Helper()
	var n int
	if err := w.d.R.QueryRow(`SELECT COALESCE(SUM(n), 0) FROM track_counts WHERE issue_id = ? AND `+where, append([]any{w.issue}, args...)...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A real send, replayed scanner and proxy traffic and three people: the
// counts come out per article and topic set with the machines apart, in
// each mode; individual mode keeps the people's clicks until erasure.
func TestEndToEndModes(t *testing.T) {
	for _, mode := range []string{"aggregate", "individual"} {
		t.Run(mode, func(t *testing.T) {
			w := newWorld(t, mode, mode)
			a, b, c := w.reader(t, 1), w.reader(t, 2), w.reader(t, 3)
			for _, r := range []*received{a, b, c} {
				if r.honeypot == "" || r.pixel == "" || len(r.links) == 0 || strings.Contains(r.html, "source.example.cn") {
					t.Fatalf("message to %s: honeypot %q pixel %q links %v", r.to, r.honeypot, r.pixel, r.links)
				}
				if strings.Contains(r.text, r.honeypot) || strings.Contains(r.text, "/o/") {
					t.Errorf("text part of %s has the honeypot or the image", r.to)
				}
			}
			w.replay(t)
			human := w.figure(t, `kind = 'click' AND verdict = 'human'`)
			t.Logf("links a=%d c=%d; human %d machine %d", len(a.links), len(c.links), human, w.figure(t, `verdict = 'machine'`))
			if human != 3 {
				t.Errorf("human clicks %d, want the 3 people's", human)
			}
			machine := w.figure(t, `kind = 'click' AND verdict = 'machine'`)
			if want := 2*len(a.links) + 1 + len(c.links) + 1; machine != want {
				t.Errorf("machine clicks %d, want %d", machine, want)
			}
			for reason, want := range map[string]int{"head": len(a.links), "user_agent": len(a.links) + 1, "honeypot": len(c.links) + 1} {
				if got := w.figure(t, `verdict = 'machine' AND kind = 'click' AND reason = ?`, reason); got != want {
					t.Errorf("machine clicks for %s: %d, want %d", reason, got, want)
				}
			}
			// per article: reader 1 clicked article 2; readers 2 and 3 their first article
			if n := w.figure(t, `kind = 'click' AND verdict = 'human' AND position = 2 AND topic_set = 15`); n < 1 {
				t.Errorf("reader 1's click on article 2 (all topics) not counted")
			}
			if n := w.figure(t, `kind = 'click' AND verdict = 'human' AND topic_set = 1`); n != 1 {
				t.Errorf("reader 2's click (topic set ageing = bit 0): %d", n)
			}
			if n := w.figure(t, `kind = 'click' AND verdict = 'human' AND topic_set = 6`); n != 1 {
				t.Errorf("reader 3's click (biomed+transfer = bits 1, 2): %d", n)
			}
			if h, m := w.figure(t, `kind = 'open' AND verdict = 'human'`), w.figure(t, `kind = 'open' AND verdict = 'machine'`); h != 1 || m != 2 {
				t.Errorf("opens human %d machine %d, want 1 (Gmail, later) and 2 (Apple, Gmail on delivery)", h, m)
			}
			if n := w.figure(t, `kind = 'open' AND reason = 'apple_proxy'`); n != 1 {
				t.Errorf("Apple proxy opens %d", n)
			}

			ctx := context.Background()
			var people int
			w.d.R.QueryRow(`SELECT COUNT(DISTINCT subscriber_id) FROM track_events WHERE verdict = 'human'`).Scan(&people)
			if mode == "aggregate" {
				if people != 0 {
					t.Errorf("aggregate mode stored %d people", people)
				}
				return
			}
			if people != 3 {
				t.Errorf("individual mode: %d people with human events, want 3", people)
			}
			var id1 int64
			w.d.R.QueryRow(`SELECT id FROM subscribers WHERE email = ?`, a.to).Scan(&id1)
			act, err := track.PersonActivity(ctx, w.d, id1)
			if err != nil || len(act) != 1 || act[0].URL != "https://source.example.cn/a/2" || act[0].Kind != "click" {
				t.Fatalf("reader 1's activity %+v %v", act, err)
			}
			before := w.figure(t, `1`)
			if err := subscribers.NewStore(w.d).Delete(ctx, a.to); err != nil {
				t.Fatal(err)
			}
			if act, _ := track.PersonActivity(ctx, w.d, id1); len(act) != 0 {
				t.Errorf("erased reader's activity %+v", act)
			}
			if after := w.figure(t, `1`); after != before {
				t.Errorf("erasure changed the counts: %d → %d", before, after)
			}
		})
	}
}

// With clicks and opens off, links go straight to their targets, there is
// no image or honeypot, and nothing is written.
func TestEndToEndOff(t *testing.T) {
	w := newWorld(t, "off", "off")
	for _, r := range w.msgs {
		if r.honeypot != "" || r.pixel != "" || strings.Contains(r.html, "/c/") || strings.Contains(r.text, "/c/") {
			t.Fatalf("tracking in an untracked message to %s", r.to)
		}
		if len(r.links) == 0 || !strings.HasPrefix(r.links[0], "https://source.example.cn/a/") || !strings.Contains(r.text, "https://source.example.cn/a/") {
			t.Errorf("message to %s: links %v", r.to, r.links)
		}
	}
	var n int
	w.d.R.QueryRow(`SELECT (SELECT COUNT(*) FROM track_counts) + (SELECT COUNT(*) FROM track_events) + (SELECT COUNT(*) FROM track_links)`).Scan(&n)
	if n != 0 {
		t.Errorf("%d tracking rows for a list that tracks nothing", n)
	}
}
