package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jhillyerd/enmime/v2"

	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/inbound"
	"github.com/tidings/tidings/smtpsink"
	"github.com/tidings/tidings/subscribers"
	"github.com/tidings/tidings/token"
	"github.com/tidings/tidings/track"
)

// The sample bulletin carries no links; linkedSample gives each of its
// articles two (an original and a commentary), so that there is something
// to click. Everything else is the sample as the publisher wrote it.
func linkedSample(t *testing.T) string {
	t.Helper()
	src, err := os.ReadFile("../../testdata/keji-qingbao-2024-07.md")
	if err != nil {
		t.Fatal(err)
	}
	// The five article headings (the other headings are sections inside
	// articles), in order.
	starts := []string{"## 推动“科技”", "### 南京市", "### 滁州市", "### 扬州聚力", "### **宁波："}
	var out []string
	n := 0
	for _, line := range strings.Split(string(src), "\n") {
		out = append(out, line)
		if n < len(starts) && strings.HasPrefix(line, starts[n]) {
			n++
			out = append(out, "", fmt.Sprintf("参见[原文](%s)和[解读](%s)。", sampleURL(n, 1), sampleURL(n, 2)))
		}
	}
	if n != 5 {
		t.Fatalf("the sample has %d article headings, want 5", n)
	}
	return writeTestFile(t, "keji-linked.md", []byte(strings.Join(out, "\n")))
}

func sampleURL(pos, link int) string {
	return fmt.Sprintf("https://example.gov.cn/k7/%d/%s", pos, []string{"", "yuanwen", "jiedu"}[link])
}

// replayClock is the tracker's clock, moved by the test.
type replayClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *replayClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *replayClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// message is one reader's mail as the test reads it: its tracked links
// by (article, link), its honeypot and its open image, and when it was
// composed (the send time its tokens carry).
type message struct {
	links    map[[2]int]string // (position, link) → tracking path /c/…
	honeypot string
	open     string
	sent     time.Time
}

var trackedURL = regexp.MustCompile(`https://news\.example\.org(/[co]/[A-Za-z0-9_-]+)`)

// readMessages parses every message the sink took and sorts its tracked
// URLs by what their verified tokens name.
func readMessages(t *testing.T, sink *smtpsink.Server, sg *track.Signer) map[string]*message {
	t.Helper()
	out := map[string]*message{}
	for _, m := range sink.Messages() {
		env, err := enmime.ReadEnvelope(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		msg := &message{links: map[[2]int]string{}}
		for _, part := range []string{env.HTML, env.Text} {
			for _, mm := range trackedURL.FindAllStringSubmatch(part, -1) {
				path := mm[1]
				kind := map[byte]track.Kind{'c': track.Click, 'o': track.Open}[path[1]]
				ref, err := sg.Verify(path[3:], kind)
				if kind == track.Click && err != nil {
					ref, err = sg.Verify(path[3:], track.Honeypot)
				}
				if err != nil {
					t.Fatalf("%s: %s does not verify: %v", m.To[0], path, err)
				}
				if msg.sent.IsZero() || ref.Sent.Before(msg.sent) {
					msg.sent = ref.Sent
				}
				switch ref.Kind {
				case track.Click:
					msg.links[[2]int{ref.Position, ref.Link}] = path
				case track.Honeypot:
					if part == env.Text {
						t.Errorf("%s: the honeypot is in the text part", m.To[0])
					}
					msg.honeypot = path
				case track.Open:
					msg.open = path
				}
			}
		}
		out[m.To[0]] = msg
	}
	return out
}

// expect tallies what the replay should come to, event by event.
type expect struct {
	humanByArticle   map[int]int
	machineByArticle map[int]int
	reasons          map[string]int
	clicksHuman      int
	clicksMachine    int
	opensHuman       int
	opensMachine     int
}

const (
	browserUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
	mimecast  = "Mozilla/5.0 (compatible; Mimecast URL Protect)"
	gmailUA   = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
	appleUA   = "Mozilla/5.0"
)

// TestReportAfterReplayedTraffic sends the sample bulletin (with links)
// to readers of different topics through a real SMTP server, runs the
// real click and open handlers over HTTP on the same database, replays
// what gateways, scanners, proxies and people do — in every order around
// each other — and checks the report per article, topic and link in each
// tracking mode.
func TestReportAfterReplayedTraffic(t *testing.T) {
	for _, mode := range []string{"aggregate", "individual", "off"} {
		t.Run(mode, func(t *testing.T) { replay(t, mode) })
	}
}

func replay(t *testing.T, mode string) {
	sink, err := smtpsink.Start(smtpsink.Options{OnRcpt: func(_, to string) error {
		if to == "gone@example.com" {
			return smtpsink.Reply(550, "5.1.1", "no such mailbox")
		}
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sink.Close() })
	env := testEnv(t)
	env["TIDINGS_SMTP_URL"] = "smtp://" + sink.Addr
	env["TIDINGS_BASE_URL"] = "https://news.example.org"
	mustRunCLI(t, env, "list", "add", "keji", "--name", "科技情报参考", "--from", "科技情报 <news@example.org>", "--lang", "zh")
	for _, tp := range [][3]string{{"ageing", "养老", "养老"}, {"biomed", "生物医药", "生物医药,医疗器械"}, {"finance", "科技金融", "金融"}, {"space", "航天", "航天"}, {"quantum", "量子", "量子计算"}} {
		mustRunCLI(t, env, "topic", "add", tp[0], "--name", tp[1], "--keywords", tp[2])
	}
	opens := map[string]string{"aggregate": "aggregate", "individual": "individual", "off": "off"}[mode]
	mustRunCLI(t, env, "list", "set", "keji", "--clicks", mode, "--opens", opens)
	mustRunCLI(t, env, "issue", "import", linkedSample(t))
	for _, s := range append(sendSubs, struct{ email, topics string }{"gone@example.com", "all"}) {
		mustRunCLI(t, env, "sub", "add", s.email, "--topics", s.topics)
	}
	mustRunCLI(t, env, "send", "1")
	mustRunCLI(t, env, "sub", "unsubscribe", "biomed@example.com")

	ctx := context.Background()
	d, err := db.Open(ctx, env["TIDINGS_DB"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	secret, err := d.Secret(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sg := track.NewSigner(secret)
	msgs := readMessages(t, sink, sg)

	if mode == "off" {
		for to, m := range msgs {
			if len(m.links) > 0 || m.honeypot != "" || m.open != "" {
				t.Errorf("%s: tracking off, yet the mail has tracked URLs: %+v", to, m)
			}
		}
		first, err := enmime.ReadEnvelope(bytes.NewReader(sink.Messages()[0].Data))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(first.HTML, `href="https://example.gov.cn/k7/`) || !strings.Contains(first.Text, "https://example.gov.cn/k7/") {
			t.Errorf("tracking off: the original links are not in both parts of the mail")
		}
		r := readReport(t, env, "1")
		if r.Clicks.Total != 0 || r.Opens.Total != 0 || len(r.Links) != 0 || r.UniqueClickers != nil || r.Delivered != 5 {
			t.Errorf("tracking off: report %+v, want no clicks, opens or links", r)
		}
		return
	}

	// t0 is when the last message was composed (the send time its tokens
	// carry, which the scan window counts from), however long the steps
	// above took on a busy machine: the replay's times are exact.
	var t0 time.Time
	for _, m := range msgs {
		if m.sent.After(t0) {
			t0 = m.sent
		}
	}
	clk := &replayClock{t: t0}
	tr, err := track.New(track.Config{DB: d, Signer: sg, Now: clk.now, ClientIP: forwardedIP,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	tr.Routes(mux)
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	ex := expect{humanByArticle: map[int]int{}, machineByArticle: map[int]int{}, reasons: map[string]int{}}
	// hit makes one request at t0+at and records what it should count as
	// ("" reason = a person).
	hit := func(who string, at time.Duration, method, path, ua, ip, reason string) {
		t.Helper()
		clk.set(t0.Add(at))
		req, _ := http.NewRequest(method, ts.URL+path, nil)
		req.Header.Set("User-Agent", ua)
		if ip != "" {
			req.Header.Set("X-Forwarded-For", ip)
		}
		res, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		m := msgs[who]
		switch {
		case path == m.open:
			if res.StatusCode != 200 {
				t.Errorf("%s open: status %d", who, res.StatusCode)
			}
			if reason == "" || reason == "gmail_proxy" {
				ex.opensHuman++
			} else {
				ex.opensMachine++
				ex.reasons[reason]++
			}
		case path == m.honeypot:
			if res.StatusCode != http.StatusNoContent {
				t.Errorf("%s honeypot: status %d, want 204", who, res.StatusCode)
			}
			ex.clicksMachine++
			ex.reasons[reason]++
		default:
			var key [2]int
			for k, p := range m.links {
				if p == path {
					key = k
				}
			}
			if res.StatusCode != http.StatusFound || res.Header.Get("Location") != sampleURL(key[0], key[1]) {
				t.Errorf("%s %s article %d link %d: %d to %q, want 302 to %s", who, method, key[0], key[1], res.StatusCode, res.Header.Get("Location"), sampleURL(key[0], key[1]))
			}
			if reason == "" {
				ex.clicksHuman++
				ex.humanByArticle[key[0]]++
			} else {
				ex.clicksMachine++
				ex.machineByArticle[key[0]]++
				ex.reasons[reason]++
			}
		}
		if err := tr.Sync(ctx); err != nil { // as Run does every second
			t.Fatal(err)
		}
	}
	link := func(who string, pos, l int) string {
		t.Helper()
		p, ok := msgs[who].links[[2]int{pos, l}]
		if !ok {
			t.Fatalf("%s's mail has no tracked link %d.%d (it has %v)", who, pos, l, msgs[who].links)
		}
		return p
	}
	everyLink := func(who string) [][2]int {
		var ks [][2]int
		for pos := 1; pos <= 5; pos++ {
			for l := 1; l <= 2; l++ {
				if _, ok := msgs[who].links[[2]int{pos, l}]; ok {
					ks = append(ks, [2]int{pos, l})
				}
			}
		}
		return ks
	}
	const all, ageing, biomed, space, mixed = "all@example.com", "ageing@example.com", "biomed@example.com", "space@example.com", "mixed@example.com"
	if n := len(everyLink(all)); n != 10 {
		t.Fatalf("the all-topics reader's mail has %d tracked links, want 10", n)
	}
	if _, ok := msgs["quantum@example.com"]; ok {
		t.Errorf("the quantum reader (no article) got mail")
	}
	withOpens := opens != "off"

	// Apple's Mail Privacy Protection fetches the image on delivery.
	if withOpens {
		hit(all, 1*time.Second, "GET", msgs[all].open, appleUA, "17.58.1.2", "apple_proxy")
	}
	// A known gateway checks the ageing reader's links at once.
	for _, k := range everyLink(ageing) {
		hit(ageing, 3*time.Second, "GET", link(ageing, k[0], k[1]), mimecast, "", "user_agent")
	}
	// Something with a browser's face, seconds after delivery.
	hit(biomed, 5*time.Second, "GET", link(biomed, 2, 1), browserUA, "", "scan_window")
	// A disguised scanner past the scan window: HEAD then GET of every
	// link, the honeypot LAST: the GETs before it are re-counted.
	for _, k := range everyLink(all) {
		hit(all, 20*time.Second, "HEAD", link(all, k[0], k[1]), browserUA, "", "head")
	}
	for _, k := range everyLink(all) {
		hit(all, 20*time.Second+500*time.Millisecond, "GET", link(all, k[0], k[1]), browserUA, "", "honeypot")
	}
	hit(all, 21*time.Second, "GET", msgs[all].honeypot, browserUA, "", "honeypot")
	// People, before any machine touches their message.
	hit(mixed, 2*time.Minute, "GET", link(mixed, 3, 1), browserUA, "", "")
	if withOpens {
		hit(ageing, 3*time.Minute, "GET", msgs[ageing].open, browserUA, "", "")
	}
	hit(space, 5*time.Minute, "GET", link(space, 4, 1), browserUA, "", "")
	// A crawler fetching four links of one message within a second.
	for i, k := range [][2]int{{1, 1}, {1, 2}, {2, 1}, {2, 2}} {
		hit(mixed, 10*time.Minute+time.Duration(i)*200*time.Millisecond, "GET", link(mixed, k[0], k[1]), browserUA, "", "burst")
	}
	// A scanner after the person: the honeypot FIRST, then the links,
	// then a browser-like fetch a minute later, all the same machine's.
	hit(space, 20*time.Minute, "GET", msgs[space].honeypot, browserUA, "", "honeypot")
	hit(space, 20*time.Minute+300*time.Millisecond, "GET", link(space, 4, 1), browserUA, "", "honeypot")
	hit(space, 20*time.Minute+600*time.Millisecond, "GET", link(space, 4, 2), browserUA, "", "honeypot")
	hit(space, 21*time.Minute, "GET", link(space, 4, 2), browserUA, "", "honeypot")
	// Gmail's image proxy fetches when the reader opens the message.
	if withOpens {
		hit(all, 30*time.Minute, "GET", msgs[all].open, gmailUA, "", "gmail_proxy")
	}
	// People after the machines.
	hit(all, 40*time.Minute, "GET", link(all, 1, 1), browserUA, "", "")
	hit(mixed, time.Hour, "GET", link(mixed, 5, 2), browserUA, "", "")
	hit(ageing, 2*time.Hour, "GET", link(ageing, 1, 2), browserUA, "", "")
	hit(biomed, 25*time.Hour, "GET", link(biomed, 2, 1), browserUA, "", "")
	if err := tr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// The mixed reader's mailbox provider reports the issue as spam: an
	// ARF report to the message's return path, through the real inbound
	// processor. It counts as a complaint and an unsubscribe, and the mail
	// was delivered all the same.
	proc, err := inbound.New(inbound.Config{DB: d, Signer: token.New(secret), Directory: subscribers.NewStore(d)})
	if err != nil {
		t.Fatal(err)
	}
	arf, err := os.ReadFile("../../inbound/testdata/arf.eml")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range sink.Messages() {
		if m.To[0] == mixed {
			res, err := proc.Process(ctx, m.From, bytes.ReplaceAll(arf, []byte("@@VERP@@"), []byte(m.From)))
			if err != nil || res.Action != inbound.ActionComplaint {
				t.Fatalf("complaint: %+v, %v", res, err)
			}
		}
	}

	r := readReport(t, env, "1")
	if r.Recipients != 6 || r.Delivered != 5 || r.BouncedHard != 1 || r.Complaints != 1 || r.Unsubscribed != 2 {
		t.Errorf("recipients %d delivered %d bounced_hard %d complaints %d unsubscribed %d; want 6 5 1 1 2 (biomed left, mixed complained)",
			r.Recipients, r.Delivered, r.BouncedHard, r.Complaints, r.Unsubscribed)
	}
	if r.Clicks.Human != ex.clicksHuman || r.Clicks.Machine != ex.clicksMachine || r.Clicks.Total != ex.clicksHuman+ex.clicksMachine {
		t.Errorf("clicks = %+v, want human %d machine %d", r.Clicks, ex.clicksHuman, ex.clicksMachine)
	}
	if r.Opens.Human != ex.opensHuman || r.Opens.Machine != ex.opensMachine {
		t.Errorf("opens = %+v, want human %d machine %d", r.Opens, ex.opensHuman, ex.opensMachine)
	}
	if fmt.Sprint(r.MachineReasons) != fmt.Sprint(ex.reasons) {
		t.Errorf("machine reasons = %v, want %v", r.MachineReasons, ex.reasons)
	}
	for _, a := range r.Articles {
		if a.ClicksHuman != ex.humanByArticle[a.Position] {
			t.Errorf("article %d: %d human clicks, want %d", a.Position, a.ClicksHuman, ex.humanByArticle[a.Position])
		}
	}
	// One person each on articles 2 to 5; the all-topics reader and the
	// ageing reader on article 1.
	if fmt.Sprint(ex.humanByArticle) != "map[1:2 2:1 3:1 4:1 5:1]" {
		t.Errorf("the scenario's people changed: %v", ex.humanByArticle)
	}
	type topicWant struct{ recipients, onArticles, byReaders int }
	// On articles: ageing = art 1 (2); biomed = art 2 (1); finance = arts
	// 2, 3, 5 (3); space = art 4 (1). By readers: the all-topics reader's
	// click counts for every topic; mixed (ageing, finance) clicked twice.
	want := map[string]topicWant{"ageing": {4, 2, 4}, "biomed": {3, 1, 2}, "finance": {3, 3, 3}, "space": {3, 1, 2}, "quantum": {2, 0, 1}}
	var raw struct {
		Topics []struct {
			Slug              string `json:"slug"`
			Recipients        int    `json:"recipients"`
			ClicksHuman       int    `json:"clicks_human"`
			ReaderClicksHuman int    `json:"reader_clicks_human"`
		} `json:"topics"`
		Links []struct {
			URL           string `json:"url"`
			ClicksHuman   int    `json:"clicks_human"`
			ClicksMachine int    `json:"clicks_machine"`
		} `json:"links"`
	}
	if err := json.Unmarshal([]byte(mustRunCLI(t, env, "report", "1", "--json")), &raw); err != nil {
		t.Fatal(err)
	}
	for _, tp := range raw.Topics {
		if got := (topicWant{tp.Recipients, tp.ClicksHuman, tp.ReaderClicksHuman}); got != want[tp.Slug] {
			t.Errorf("topic %s: (recipients, on articles, by readers) = %v, want %v", tp.Slug, got, want[tp.Slug])
		}
	}
	if len(raw.Links) != 10 {
		t.Errorf("%d links in the report, want 10", len(raw.Links))
	}
	for _, l := range raw.Links {
		if l.URL == sampleURL(1, 1) && (l.ClicksHuman != 1 || l.ClicksMachine != 4) {
			t.Errorf("link %s: human %d machine %d, want 1 and 4 (gateway, HEAD, GET near the honeypot, burst)", l.URL, l.ClicksHuman, l.ClicksMachine)
		}
	}
	sum := 0
	for _, p := range r.Timeline {
		if h, ok := p["human"].(float64); ok {
			sum += int(h)
		}
	}
	if sum != ex.clicksHuman {
		t.Errorf("timeline holds %d human clicks, want all %d (every one within 48 h)", sum, ex.clicksHuman)
	}
	switch mode {
	case "aggregate":
		if r.UniqueClickers != nil {
			t.Errorf("aggregate: unique_clickers = %d, want null", *r.UniqueClickers)
		}
		var n int
		if err := d.R.QueryRow(`SELECT count(*) FROM track_events`).Scan(&n); err != nil || n != 0 {
			t.Errorf("aggregate: %d per-person rows (%v), want none", n, err)
		}
	case "individual":
		if r.UniqueClickers == nil || *r.UniqueClickers != 5 {
			t.Errorf("individual: unique_clickers = %v, want 5 (all, ageing, biomed, space, mixed)", r.UniqueClickers)
		}
		// Erasing a reader keeps the figures and drops the person.
		mustRunCLI(t, env, "sub", "delete", mixed)
		r2 := readReport(t, env, "1")
		if r2.Clicks != r.Clicks || r2.UniqueClickers == nil || *r2.UniqueClickers != 4 {
			t.Errorf("after erasing mixed@: clicks %+v unique %v; want clicks unchanged and 4", r2.Clicks, r2.UniqueClickers)
		}
	}
	text := mustRunCLI(t, env, "report", "1")
	for _, w := range []string{"honeypot", "burst", "scan_window", "HEAD request", sampleURL(2, 2)} {
		if !strings.Contains(text, w) {
			t.Errorf("report text lacks %q:\n%s", w, text)
		}
	}
}
