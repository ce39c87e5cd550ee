package render

import (
	"bytes"
	"fmt"
	"html/template"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"github.com/yuin/goldmark/ast"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/track"
)

// Engagement tracking in rendering. When the Renderer has a track.Signer
// and the list does not turn clicks off, every http(s) link of the
// ARTICLE bodies is rewritten, in the Markdown tree both parts are made
// from, to {base}/c/{slot}: the slot is one more per-reader place of the
// cached body, filled per message with that message's signed token (the
// token carries the send time, a random nonce and, in individual mode,
// the subscriber, so it differs per message and cannot be baked into the
// cache). The text part then reads "link text [n]" with the tracked URL
// in its numbered link list, and a bare URL keeps showing the original
// address before its [n]. Reader-page links (view online, preferences,
// unsubscribe) come from the templates, never from article bodies, and
// are left alone. When clicks or opens are tracked, the HTML part also
// gets the open image (opens on) and the honeypot: a link with no text
// that is hidden from sight, from screen readers and from the keyboard.

// trackSlot0 is the first slot number of tracked places: slot
// trackSlot0+i is the edition's i-th tracked reference.
const trackSlot0 = 100

// isTrackSlot reports a slot number of a tracked place.
func isTrackSlot(n int) bool { return n >= trackSlot0 }

// trackRef is one tracked place of the edition.
type trackRef struct {
	kind     track.Kind
	position int
	link     int
}

// editionTracking is an edition's tracking plan.
type editionTracking struct {
	signer     *track.Signer
	base       string
	clicks     tidings.Tracking
	opens      tidings.Tracking
	refs       []trackRef
	links      []track.Link
	topicBit   map[string]uint64 // topic slug → its bit in a topic set
	topicIDs   []int64           // bit order
	allTopics  uint64
	honeypot   int // slot of the honeypot, -1 when none
	openPixel  int // slot of the open image, -1 when none
	individual [2]bool
}

func (t *editionTracking) add(r trackRef) int {
	t.refs = append(t.refs, r)
	return trackSlot0 + len(t.refs) - 1
}

// prepareTracking rewrites the article links and plans the per-message
// tokens; it does nothing without a signer or when both modes are off.
func (e *Edition) prepareTracking(topics []tidings.Topic) error {
	sg := e.r.Track
	clicks, opens := e.list.Clicks, e.list.Opens
	if clicks == "" {
		clicks = tidings.TrackAggregate
	}
	if opens == "" {
		opens = tidings.TrackOff
	}
	if sg == nil || (clicks == tidings.TrackOff && opens == tidings.TrackOff) {
		return nil
	}
	t := &editionTracking{
		signer: sg, base: strings.TrimRight(e.links.Base, "/"), clicks: clicks, opens: opens,
		topicBit: map[string]uint64{}, honeypot: -1, openPixel: -1,
		individual: [2]bool{clicks == tidings.TrackIndividual, opens == tidings.TrackIndividual},
	}
	ts := slices.Clone(topics)
	slices.SortFunc(ts, func(a, b tidings.Topic) int { return int(a.ID - b.ID) })
	for i, tp := range ts {
		if i == 63 {
			break // a topic set names the first 63 topics (a non-negative SQLite integer); the rest count without one
		}
		t.topicBit[tp.Slug] = 1 << i
		t.topicIDs = append(t.topicIDs, tp.ID)
		t.allTopics |= 1 << i
	}
	if clicks != tidings.TrackOff {
		for _, a := range e.arts {
			if err := t.rewrite(a); err != nil {
				return fmt.Errorf("render: issue #%d: article %d: %w", e.issue.ID, a.pos, err)
			}
		}
	}
	t.honeypot = t.add(trackRef{kind: track.Honeypot})
	if opens != tidings.TrackOff {
		t.openPixel = t.add(trackRef{kind: track.Open})
	}
	e.trk = t
	return nil
}

// rewrite points every http(s) link of a's body at a tracked slot and
// renders the body's HTML again from the changed tree.
func (t *editionTracking) rewrite(a *article) error {
	d := a.body
	if d.empty() {
		return nil
	}
	var nodes []ast.Node
	ast.Walk(d.root, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Link:
			if httpURL(string(n.Destination)) {
				nodes = append(nodes, n)
			}
		case *ast.AutoLink:
			if n.AutoLinkType == ast.AutoLinkURL && httpURL(string(n.URL(d.src))) {
				nodes = append(nodes, n)
			}
		}
		return ast.WalkContinue, nil
	})
	if len(nodes) == 0 {
		return nil
	}
	for i, n := range nodes {
		idx := i + 1
		slot := t.add(trackRef{kind: track.Click, position: a.pos, link: idx})
		dest := []byte(t.base + "/c/" + sentinel(slot))
		switch n := n.(type) {
		case *ast.Link:
			t.links = append(t.links, track.Link{Position: a.pos, Link: idx, URL: string(n.Destination)})
			n.Destination = dest
		case *ast.AutoLink:
			t.links = append(t.links, track.Link{Position: a.pos, Link: idx, URL: string(n.URL(d.src))})
			l := ast.NewLink()
			l.Destination = dest
			l.AppendChild(l, ast.NewString(bytes.Clone(n.Label(d.src))))
			n.Parent().ReplaceChild(n.Parent(), n, l)
		}
	}
	var b bytes.Buffer
	if err := md.Renderer().Render(&b, d.src, d.root); err != nil {
		return fmt.Errorf("markdown: %w", err)
	}
	d.html = template.HTML(b.String())
	return nil
}

func httpURL(u string) bool {
	l := strings.ToLower(u)
	return strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://")
}

// trackHTML adds the honeypot and the open image at the end of an HTML
// part's body. Both are invisible: the honeypot has no text, is hidden,
// out of the accessibility tree and out of the tab order.
func (e *Edition) trackHTML(h string) string {
	t := e.trk
	if t == nil {
		return h
	}
	var b strings.Builder
	if t.honeypot >= 0 {
		b.WriteString(`<a href="` + t.base + "/c/" + sentinel(t.honeypot) + `" aria-hidden="true" tabindex="-1" style="display:none;font-size:0;line-height:0;max-height:0;overflow:hidden"></a>`)
	}
	if t.openPixel >= 0 {
		b.WriteString(`<img src="` + t.base + "/o/" + sentinel(t.openPixel) + `" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0">`)
	}
	i := strings.LastIndex(strings.ToLower(h), "</body>")
	if i < 0 {
		return h + b.String()
	}
	return h[:i] + b.String() + h[i:]
}

// TrackPlan is the edition's links and topic bits, for track.Register
// before the first message goes out (empty when nothing is tracked).
func (e *Edition) TrackPlan() track.Plan {
	if e.trk == nil {
		return track.Plan{Issue: e.issue.ID}
	}
	return track.Plan{Issue: e.issue.ID, Links: slices.Clone(e.trk.links), Topics: slices.Clone(e.trk.topicIDs)}
}

// msgTrack is one message's tracked values, made as the slots are met
// (each slot appears in the HTML and the text part: one token for both).
type msgTrack struct {
	t    *editionTracking
	ref  track.Ref
	sub  int64
	vals [][]byte
	buf  []byte
}

var msgTrackPool = sync.Pool{New: func() any { return &msgTrack{} }}

// topicSet is the bits of rc's topics, worked out once per topic
// combination (topicSlot caches it) rather than once per message.
func (t *editionTracking) topicSet(rc *tidings.Recipient) uint64 {
	if rc.AllTopics {
		return t.allTopics
	}
	var set uint64
	for _, s := range rc.Topics {
		set |= t.topicBit[s]
	}
	return set
}

// messageTrack starts rc's tracked values; nil when nothing is tracked.
// tt is rc's cached topic text, which carries its topic set. test marks
// the tokens of test copies and previews: their links work and count
// nothing. Release it with done.
func (e *Edition) messageTrack(rc *tidings.Recipient, tt *topicText, test bool) *msgTrack {
	t := e.trk
	if t == nil {
		return nil
	}
	m := msgTrackPool.Get().(*msgTrack)
	m.t = t
	m.sub = rc.SubscriberID
	m.ref = track.Ref{Issue: e.issue.ID, Test: test, Sent: e.r.now(), Nonce: rand.Uint32(), TopicSet: tt.trackSet}
	if cap(m.vals) < len(t.refs) {
		m.vals = make([][]byte, len(t.refs))
	}
	m.vals = m.vals[:len(t.refs)]
	clear(m.vals)
	m.buf = m.buf[:0]
	return m
}

func (m *msgTrack) done() {
	if m != nil {
		m.t = nil
		msgTrackPool.Put(m)
	}
}

// value is the token of a tracked slot in this message.
func (m *msgTrack) value(slot int) []byte {
	i := slot - trackSlot0
	if m == nil || i < 0 || i >= len(m.vals) {
		return nil
	}
	if m.vals[i] == nil {
		r := m.t.refs[i]
		ref := m.ref
		ref.Kind, ref.Position, ref.Link = r.kind, r.position, r.link
		switch {
		case r.kind == track.Click && m.t.individual[0], r.kind == track.Open && m.t.individual[1]:
			ref.Subscriber = m.sub
		}
		start := len(m.buf)
		m.buf = m.t.signer.AppendSign(m.buf, &ref)
		m.vals[i] = m.buf[start:len(m.buf):len(m.buf)]
	}
	return m.vals[i]
}
