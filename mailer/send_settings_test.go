package mailer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tidings/tidings/smtpsink"
)

// keyedFixture is the fixture's campaign with a list key of its own.
type keyedFixture struct {
	*fixture
	key    *DKIM
	domain string
}

func (k keyedFixture) Campaign(ctx context.Context, issueID int64) (*Campaign, error) {
	c, _ := k.fixture.Campaign(ctx, issueID)
	c.DKIM = k.key
	if k.domain != "" {
		c.Domain = k.domain
	}
	return c, nil
}

// blockingSink holds every DATA until release is called, so a test can
// act while a send holds leases.
func blockingSink(t *testing.T) (s *smtpsink.Server, inData chan struct{}, release func()) {
	gate := make(chan struct{})
	inData = make(chan struct{}, 100)
	var once sync.Once
	s = startSink(t, smtpsink.Options{OnData: func(string, []string, []byte) error {
		inData <- struct{}{}
		<-gate
		return nil
	}})
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)
	return s, inData, release
}

// A send keeps the settings it started with: a second process with other
// relays or another key is refused while the first sends (naming it and
// the difference), refused without adoption afterwards too, and when an
// operator's command adopts the send, every remaining message goes
// through the new relay only; a claim under replaced settings claims
// nothing. Never a mix, never a copy twice.
func TestSendKeepsItsSettings(t *testing.T) {
	f := newFixture(t, 40) // 30 deliverable
	other, err := openDB(t, f.d.Path)
	if err != nil {
		t.Fatal(err)
	}
	fB := *f
	fB.d = other
	sinkA, inData, release := blockingSink(t)
	sinkB := startSink(t, smtpsink.Options{})
	key, _ := testKey(t, "ed25519", "s1")

	cfgA := fastConfig(sinkRelay(t, sinkA))
	cfgA.Concurrency = 1
	engA := f.engine(cfgA)
	ctxA, stopA := context.WithCancel(testCtx(t))
	doneA := make(chan error, 1)
	go func() { _, err := engA.Send(ctxA, f.issueID, SendOptions{}); doneA <- err }()
	select {
	case <-inData:
	case <-time.After(10 * time.Second):
		t.Fatal("process A never reached DATA")
	}

	cfgB := fastConfig(sinkRelay(t, sinkB))
	cfgB.DKIM = key
	engB := fB.engine(cfgB)
	for _, adopt := range []bool{false, true} {
		_, err := engB.Send(testCtx(t), f.issueID, SendOptions{AdoptSettings: adopt})
		var se *SettingsError
		if !errors.As(err, &se) || !errors.Is(err, ErrSettingsDiffer) {
			t.Fatalf("adopt=%v while A sends: %v, want a SettingsError", adopt, err)
		}
		msg := err.Error()
		for _, want := range []string{cfgA.Owner, sinkA.Addr, sinkB.Addr, "DKIM: the send's none, this process's process s1 d=example.org sha256:"} {
			if want != "" && !strings.Contains(msg, want) {
				t.Errorf("refusal %q does not name %q", msg, want)
			}
		}
		if se.Holder == "" {
			t.Errorf("refusal names no holder: %q", msg)
		}
	}
	// A is interrupted with most of the send pending.
	stopA()
	release()
	if err := <-doneA; !errors.Is(err, ErrInterrupted) {
		t.Fatalf("A: %v, want interrupted", err)
	}
	sentByA := sinkA.Count()
	if sentByA == 0 || sentByA >= len(f.deliverable()) {
		t.Fatalf("A sent %d of %d; the test needs a partial send", sentByA, len(f.deliverable()))
	}
	// Without adoption (a daemon) the send stays A's.
	if _, err := engB.Send(testCtx(t), f.issueID, SendOptions{}); !errors.Is(err, ErrSettingsDiffer) || strings.Contains(err.Error(), "is sending it now") {
		t.Fatalf("B without adoption: %v", err)
	}
	if sinkB.Count() != 0 {
		t.Fatalf("B sent %d messages without the send's settings", sinkB.Count())
	}
	// The operator's command adopts it: the rest goes through B, signed.
	rep, err := engB.Send(testCtx(t), f.issueID, SendOptions{AdoptSettings: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pending != 0 || sinkA.Count()+sinkB.Count() != len(f.deliverable()) {
		t.Fatalf("A %d + B %d messages, want %d; report %+v", sinkA.Count(), sinkB.Count(), len(f.deliverable()), rep)
	}
	for a, n := range received(sinkB) {
		if received(sinkA)[a]+n != 1 {
			t.Errorf("%s got %d copies", a, received(sinkA)[a]+n)
		}
	}
	for _, m := range sinkB.Messages() {
		if !bytes.HasPrefix(m.Data, []byte("DKIM-Signature:")) {
			t.Errorf("message to %v through B is not signed", m.To)
		}
	}
	for _, m := range sinkA.Messages() {
		if bytes.Contains(m.Data, []byte("DKIM-Signature:")) {
			t.Errorf("message to %v through A is signed", m.To)
		}
	}
	got, err := ReadSettings(context.Background(), f.d.R, f.issueID)
	if err != nil {
		t.Fatal(err)
	}
	if want := engB.settingsFor(&Campaign{Domain: "example.org"}); got.Fingerprint() != want.Fingerprint() {
		t.Errorf("recorded settings %+v, want B's %+v", got, want)
	}
	if st, err := ReadStatus(context.Background(), f.d, f.issueID, 0); err != nil || st.Settings.Fingerprint() != got.Fingerprint() {
		t.Errorf("status settings %+v, %v; want %+v", st.Settings, err, got)
	}
	// A claim made under the replaced settings gets nothing.
	st := &logStore{d: f.d, issueID: f.issueID, listID: f.listID, owner: cfgA.Owner, ttl: time.Minute, now: time.Now,
		fp: engA.settingsFor(&Campaign{Domain: "example.org"}).Fingerprint()}
	if _, err := f.d.W.Exec(`UPDATE deliveries SET state = 'pending' WHERE issue_id = ? AND subscriber_id = ?`, f.issueID, f.subs[0].SubscriberID); err != nil {
		t.Fatal(err)
	}
	if jobs, err := st.claim(context.Background(), 10); !errors.Is(err, ErrSettingsDiffer) || len(jobs) != 0 {
		t.Errorf("claim under replaced settings: %d jobs, %v", len(jobs), err)
	}
}

// Settings name relays without passwords and keys by fingerprint; the
// fingerprint changes with a relay, its limits, the key or the rate, not
// with the concurrency or the relay password.
func TestSettingsFingerprint(t *testing.T) {
	k1, _ := testKey(t, "ed25519", "s1")
	k2, _ := testKey(t, "ed25519", "s1")
	relay := func(u string) Relay {
		r, err := ParseRelayURL(u)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	camp := &Campaign{Domain: "example.org"}
	fp := func(c Config, camp *Campaign) (string, Settings) {
		s := New(c, Deps{}).settingsFor(camp)
		return s.Fingerprint(), s
	}
	base := Config{Relays: []Relay{relay("smtp://u:secret@mail.example.org:587")}, DKIM: k1, Rate: 5, Concurrency: 4}
	fp0, s0 := fp(base, camp)
	if b, _ := json.Marshal(s0); bytes.Contains(b, []byte("secret")) || bytes.Contains(b, []byte("PRIVATE")) {
		t.Errorf("settings leak a secret: %s", b)
	}
	same := []Config{
		{Relays: []Relay{relay("smtp://u:other@mail.example.org:587")}, DKIM: k1, Rate: 5, Concurrency: 4},
		{Relays: []Relay{relay("smtp://u:secret@mail.example.org:587?helo=a.example.org")}, DKIM: k1, Rate: 5, Concurrency: 16},
	}
	two := Config{Relays: []Relay{relay("smtp://a.example.org"), relay("smtp://b.example.org")}}
	swapped := Config{Relays: []Relay{relay("smtp://b.example.org"), relay("smtp://a.example.org")}}
	if f1, _ := fp(two, camp); f1 != func() string { f2, _ := fp(swapped, camp); return f2 }() {
		t.Error("the order of the relays changed the fingerprint")
	}
	for i, c := range same {
		if f, s := fp(c, camp); f != fp0 {
			t.Errorf("same %d: fingerprint changed: %+v vs %+v", i, s, s0)
		}
	}
	differ := map[string]Config{
		"relay":       {Relays: []Relay{relay("smtp://u:secret@mail2.example.org:587")}, DKIM: k1, Rate: 5},
		"relay limit": {Relays: []Relay{relay("smtp://u:secret@mail.example.org:587?rate=3")}, DKIM: k1, Rate: 5},
		"user":        {Relays: []Relay{relay("smtp://v:secret@mail.example.org:587")}, DKIM: k1, Rate: 5},
		"key":         {Relays: base.Relays, DKIM: k2, Rate: 5},
		"no key":      {Relays: base.Relays, Rate: 5},
		"rate":        {Relays: base.Relays, DKIM: k1, Rate: 6},
	}
	for name, c := range differ {
		if f, s := fp(c, camp); f == fp0 {
			t.Errorf("%s: same fingerprint: %+v", name, s)
		} else if s0.Diff(s) == "" {
			t.Errorf("%s: Diff names nothing", name)
		}
	}
	// The list's own key is preferred to the process key, and named so.
	_, s := fp(base, &Campaign{Domain: "example.net", DKIM: k2})
	if !strings.HasPrefix(s.DKIM, "list s1 d=example.net sha256:") || s.DKIM == s0.DKIM {
		t.Errorf("list key setting %q", s.DKIM)
	}
}

// A list's own key signs its mail even where the process has a key of
// its own (d= the list's From domain); lists without one get the process
// key; the process key signing lists of two domains is logged once.
func TestListKeySignsItsMail(t *testing.T) {
	f := newFixture(t, 8)
	listKey, listTXT := testKey(t, "rsa", "list1")
	procKey, procTXT := testKey(t, "ed25519", "proc1")
	records := map[string]string{"list1._domainkey.example.org": listTXT, "proc1._domainkey.example.org": procTXT}
	sink := startSink(t, smtpsink.Options{})
	cfg := fastConfig(sinkRelay(t, sink))
	cfg.DKIM = procKey
	e := New(cfg, Deps{DB: f.d, Campaigns: keyedFixture{fixture: f, key: listKey}, Recipients: f})
	if _, err := e.Send(testCtx(t), f.issueID, SendOptions{}); err != nil {
		t.Fatal(err)
	}
	if sink.Count() != len(f.deliverable()) {
		t.Fatalf("%d messages", sink.Count())
	}
	for _, m := range sink.Messages() {
		if err := goVerify(m.Data, records); err != nil || !bytes.Contains(m.Data, []byte("s=list1")) {
			t.Errorf("message to %v: not signed by the list key: %v", m.To, err)
		}
	}
	// SendTest copies are signed with the list key too.
	if _, err := e.SendTest(testCtx(t), f.issueID, "editor@example.com", nil); err != nil {
		t.Fatal(err)
	}
	last := sink.Messages()[sink.Count()-1]
	if err := goVerify(last.Data, records); err != nil || !bytes.Contains(last.Data, []byte("s=list1")) {
		t.Errorf("test copy not signed by the list key: %v", err)
	}

	var logb bytes.Buffer
	cfg2 := fastConfig()
	cfg2.DKIM = procKey
	cfg2.Logger = slog.New(slog.NewTextHandler(&logb, nil))
	e2 := New(cfg2, Deps{})
	for _, d := range []string{"example.org", "example.org", "example.net", "example.com", "example.net"} {
		e2.noteProcessKey(&Campaign{Domain: d})
	}
	e2.noteProcessKey(&Campaign{Domain: "own.example", DKIM: listKey}) // its own key: not the process key's business
	if n := strings.Count(logb.String(), "different From domains"); n != 1 || !strings.Contains(logb.String(), "example.net example.org") {
		t.Errorf("warned %d times:\n%s", n, logb.String())
	}
}

// Transactional mail (confirmations, replies) from a list's domain is
// signed with the list's own key when it has one, else the process key.
func TestOneOffSignsWithTheListKey(t *testing.T) {
	listKey, listTXT := testKey(t, "rsa", "list1")
	procKey, procTXT := testKey(t, "ed25519", "proc1")
	records := map[string]string{"list1._domainkey.example.org": listTXT, "proc1._domainkey.example.net": procTXT}
	sink := startSink(t, smtpsink.Options{})
	s := NewOneOff([]Relay{sinkRelay(t, sink)}, OneOffOptions{DKIM: procKey, ListKey: func(_ context.Context, domain string) (*DKIM, error) {
		if domain == "example.org" {
			return listKey, nil
		}
		return nil, nil
	}})
	for _, from := range []string{"bounces+x@example.org", "bounces+y@example.net"} {
		msg := []byte("From: news@" + from[strings.IndexByte(from, '@')+1:] + "\r\nTo: a@example.com\r\nSubject: confirm\r\n\r\nhi\r\n")
		if err := s.SendMail(testCtx(t), from, []string{"a@example.com"}, msg); err != nil {
			t.Fatal(err)
		}
	}
	msgs := sink.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages", len(msgs))
	}
	for i, sel := range []string{"s=list1", "s=proc1"} {
		if err := goVerify(msgs[i].Data, records); err != nil || !bytes.Contains(msgs[i].Data, []byte(sel)) {
			t.Errorf("message %d: want %s: %v", i, sel, err)
		}
	}
}

// Leases left by a killed process of this machine do not stop an
// operator's command from taking the send over; leases of a process
// elsewhere (alive as far as this machine can tell) do, until they expire.
func TestAdoptionIgnoresDeadHolders(t *testing.T) {
	for _, c := range []struct {
		name, owner string
		adopted     bool
	}{
		{"killed process here", deadOwner(t), true},
		{"process on another machine", "elsewhere.example.org/42/abcd", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, 8)
			sinkA, sinkB := startSink(t, smtpsink.Options{}), startSink(t, smtpsink.Options{})
			// A's send is recorded, then A "dies" holding leases on every row.
			engA := f.engine(fastConfig(sinkRelay(t, sinkA)))
			camp, _ := f.Campaign(context.Background(), f.issueID)
			if err := engA.prepare(context.Background(), camp, engA.settingsFor(camp), SendOptions{}); err != nil {
				t.Fatal(err)
			}
			if _, err := f.d.W.Exec(`UPDATE deliveries SET lease_owner = ?, lease_until = ? WHERE issue_id = ?`,
				c.owner, time.Now().Add(time.Hour).Unix(), f.issueID); err != nil {
				t.Fatal(err)
			}
			cfgB := fastConfig(sinkRelay(t, sinkB))
			cfgB.LeaseTTL = time.Second
			_, err := f.engine(cfgB).Send(testCtx(t), f.issueID, SendOptions{AdoptSettings: true})
			if c.adopted {
				if err != nil || sinkB.Count() != len(f.deliverable()) || sinkA.Count() != 0 {
					t.Errorf("adoption over a dead holder: %v; A %d, B %d", err, sinkA.Count(), sinkB.Count())
				}
				return
			}
			var se *SettingsError
			if !errors.As(err, &se) || se.Holder != c.owner || sinkB.Count() != 0 {
				t.Errorf("adoption over a live holder: %v; B sent %d", err, sinkB.Count())
			}
		})
	}
}

// deadOwner is a lease owner name of this machine whose process is gone.
func deadOwner(t *testing.T) string {
	t.Helper()
	h, _ := os.Hostname()
	for pid := 4_000_000; pid > 3_000_000; pid-- {
		if !processAlive(pid) {
			return fmt.Sprintf("%s/%d/dead", h, pid)
		}
	}
	t.Skip("no free pid found")
	return ""
}
