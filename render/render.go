// Package render turns an issue into the exact message each subscriber
// receives: a tailored HTML body (a 600px table layout with every style
// inlined), a plain-text alternative made from the same Markdown, and the
// RFC 5322 / MIME message around them.
//
// Rendering is done once per set of selected articles, not per reader:
// Prepare parses the issue's Markdown once; the first recipient of a new
// article set renders its HTML and text through the templates with
// placeholders in the per-reader places (tokens in links, the reader's
// address and topics) and cuts the result into static chunks whose base64
// is cached. WriteMessage then only writes headers, copies the cached
// chunks and encodes the few small per-reader slots, so sending to a
// million readers costs a million small copies, not a million renderings.
// The message writer is our own (a few dozen lines of RFC 5322 and MIME)
// rather than go-mail's, because go-mail builds and encodes the whole
// message anew for every recipient.
package render

import (
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/templates"
	"github.com/tidings/tidings/token"
	"github.com/tidings/tidings/track"
)

var (
	// ErrInvalid is bad input to rendering: a list without a From
	// address, a recipient address that cannot go in a header, and so on.
	ErrInvalid = errors.New("invalid")
	// ErrNoArticles is returned for a recipient whose topics select no
	// article: such a recipient is skipped, not sent an empty issue.
	ErrNoArticles = errors.New("no articles for this recipient")
)

// DefaultBase is the link base when Links.Base is empty: the address
// `tidings serve` listens on by default, so that a local run has
// working links.
const DefaultBase = "http://127.0.0.1:8080"

// Renderer holds what every edition needs: where reader links point, the
// signer of their tokens and the clock of the Date header.
type Renderer struct {
	Links  tidings.Links
	Signer *token.Signer
	Now    func() time.Time
	// Track, when set, rewrites article links for click tracking and adds
	// the open image and honeypot, as the list's modes say (tracking.go).
	// Only the send path sets it: previews and the archive stay untracked.
	Track *track.Signer
}

func (r *Renderer) links() tidings.Links {
	// White space and controls cannot be part of a URL; dropping them
	// keeps a mistyped --base-url out of the headers.
	base := strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f {
			return -1
		}
		return r
	}, r.Links.Base)
	if base == "" {
		base = DefaultBase
	}
	return tidings.Links{Base: base}
}

func (r *Renderer) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// MessageOptions change one message.
type MessageOptions struct {
	To   string // send to this address instead of the recipient's (test sends)
	Test bool   // mark the subject as a test; unsubscribe links and headers name nobody
}

// MessageInfo describes a written message.
type MessageInfo struct {
	MessageID string // with angle brackets, as in the header
	Size      int    // bytes written
}

// Edition is one issue prepared for sending to one list. It is safe for
// concurrent use; rendered bodies are cached in it per article set.
type Edition struct {
	r      *Renderer
	links  tidings.Links
	list   tidings.List
	issue  *tidings.Issue
	names  map[string]string // topic slug → name
	s      map[string]string // reader-facing words in the list's language
	arts   []*article
	mast   *doc
	intro  *doc
	footer *doc

	html *htmltemplate.Template
	text textTemplate

	subject  string // decoded, without the test prefix
	boundary string
	fixed    []byte // headers that are the same in every message
	subjHdr  []byte
	testHdr  []byte // subject header of test sends
	domain   string
	unsubURL string         // Links.Unsubscribe without the token
	loc      *time.Location // of the Date header; loaded once, not from disk per message

	mu     sync.RWMutex
	bodies map[string]*entry     // by selected article positions (a bitset)
	topics map[string]*topicText // reader topic sets → their rendered names

	trk *editionTracking // nil: nothing tracked
}

type article struct {
	pos    int
	anchor string
	title  string
	topics []string
	body   *doc
}

// langStrings reads the reader-facing words for lang from
// email/strings.TAG.json (English when the language has no file): the
// built-in file first, then a list's own file on top, key by key, so an
// override may change a few words and inherit the rest.
func langStrings(dir string, lang tidings.Lang) (map[string]string, error) {
	m := map[string]string{}
	layers := []fs.FS{templates.FS}
	if dir != "" {
		layers = append(layers, os.DirFS(dir))
	}
	found := false
	for _, name := range []string{"email/strings.en.json", "email/strings." + lang.Tag() + ".json"} {
		for _, fsys := range layers {
			b, err := fs.ReadFile(fsys, name)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("templates: %w", err)
			}
			if err := json.Unmarshal(b, &m); err != nil {
				return nil, fmt.Errorf("templates: %s: %w", name, err)
			}
			found = true
		}
	}
	if !found {
		return nil, fmt.Errorf("templates: no email/strings.%s.json", lang.Tag())
	}
	return m, nil
}

// fill replaces {key} in s by the values of kv (key, value, ...).
func fill(s string, esc func(string) string, kv ...string) string {
	for i := 0; i+1 < len(kv); i += 2 {
		s = strings.ReplaceAll(s, "{"+kv[i]+"}", esc(kv[i+1]))
	}
	return s
}

// Prepare parses the issue for list. topics are the list's topics (for
// their names); the issue must carry its articles.
func (r *Renderer) Prepare(list *tidings.List, topics []tidings.Topic, issue *tidings.Issue) (*Edition, error) {
	if list == nil || issue == nil {
		return nil, fmt.Errorf("render: %w: no list or issue", ErrInvalid)
	}
	if r.Signer == nil {
		return nil, fmt.Errorf("render: %w: no token signer", ErrInvalid)
	}
	from := list.FromAddress()
	if err := checkAddr(from); err != nil {
		return nil, fmt.Errorf("render: list %s: from address: %w", list.Slug, err)
	}
	if len(issue.Articles) == 0 {
		return nil, fmt.Errorf("render: issue #%d: %w: it has no articles", issue.ID, ErrInvalid)
	}
	e := &Edition{
		r: r, links: r.links(), list: *list, issue: issue,
		names:  map[string]string{},
		domain: list.Domain(),
		loc:    list.Location(),
		bodies: map[string]*entry{},
		topics: map[string]*topicText{},
	}
	for _, t := range topics {
		e.names[t.Slug] = t.Name
	}
	// Every text that reaches a body outside the parsed Markdown (which
	// parse checks below) must not hold a slot sentinel either, or the
	// reader's token or address would be spliced in where it stands.
	plain := [][2]string{{"subject", issue.Subject}, {"preheader", issue.Preheader}, {"date", issue.Date}, {"title", issue.Title},
		{"list name", list.Name}, {"list address", list.Address}}
	for _, t := range topics {
		plain = append(plain, [2]string{"topic " + t.Slug, t.Name})
	}
	for _, p := range plain {
		if strings.Contains(p[1], sentinelPrefix) {
			return nil, fmt.Errorf("render: issue #%d: %s: %w: contains the reserved word %q", issue.ID, p[0], ErrInvalid, sentinelPrefix)
		}
	}
	fsys := templates.Overlay(list.TemplateDir)
	var err error
	if e.s, err = langStrings(list.TemplateDir, list.Lang); err != nil {
		return nil, fmt.Errorf("render: %w", err)
	}
	if err := e.parseTemplates(fsys); err != nil {
		return nil, fmt.Errorf("render: list %s: %w", list.Slug, err)
	}
	parse := func(what, src string) (*doc, error) {
		if strings.Contains(src, sentinelPrefix) {
			return nil, fmt.Errorf("render: issue #%d: %s: %w: contains the reserved word %q", issue.ID, what, ErrInvalid, sentinelPrefix)
		}
		d, err := parseDoc(src)
		if err != nil {
			return nil, fmt.Errorf("render: issue #%d: %s: %w", issue.ID, what, err)
		}
		return d, nil
	}
	if e.mast, err = parse("masthead", issue.Masthead); err != nil {
		return nil, err
	}
	if e.intro, err = parse("introduction", issue.Intro); err != nil {
		return nil, err
	}
	if e.footer, err = parse("footer", issue.Footer); err != nil {
		return nil, err
	}
	for i, a := range issue.Articles {
		pos := a.Position
		if pos == 0 {
			pos = i + 1
		}
		what := "article " + strconv.Itoa(pos)
		if strings.Contains(a.Title, sentinelPrefix) {
			return nil, fmt.Errorf("render: issue #%d: %s: %w: contains the reserved word %q", issue.ID, what, ErrInvalid, sentinelPrefix)
		}
		d, err := parse(what, a.Body)
		if err != nil {
			return nil, err
		}
		e.arts = append(e.arts, &article{pos: pos, anchor: "a" + strconv.Itoa(pos), title: oneLine(a.Title), topics: a.Topics, body: d})
	}
	if err := e.prepareTracking(topics); err != nil {
		return nil, err
	}
	if err := e.buildHeaders(); err != nil {
		return nil, fmt.Errorf("render: list %s: %w", list.Slug, err)
	}
	return e, nil
}

// oneLine collapses runs of white space (newlines included) to one space.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Subject is the issue's subject as readers see it (before encoding).
func (e *Edition) Subject() string { return e.subject }

// selects reports whether rc receives article a: an article without
// topics goes to everyone, others to readers who share one of its topics.
func selects(a *article, rc *tidings.Recipient) bool { return rc.Receives(a.topics) }

// mask appends to dst the bitset of the articles rc receives and returns
// it with the number of articles.
func (e *Edition) mask(dst []byte, rc *tidings.Recipient) ([]byte, int) {
	n := 0
	for i, a := range e.arts {
		if i%8 == 0 {
			dst = append(dst, 0)
		}
		if selects(a, rc) {
			dst[len(dst)-1] |= 1 << (i % 8)
			n++
		}
	}
	return dst, n
}

// Combination is the canonical topic-set key of rc ("all", "none", or
// the sorted slugs joined by ",") and how many articles rc gets; 0 means
// rc is skipped. Readers whose different topic sets select the same
// articles share one rendered body all the same.
func (e *Edition) Combination(rc tidings.Recipient) (key string, articles int) {
	var buf [16]byte
	_, n := e.mask(buf[:0], &rc)
	return topicKey(&rc), n
}

// topicKey is the canonical form of rc's topic choice.
func topicKey(rc *tidings.Recipient) string { return rc.TopicKey() }

func sortDedup(p *[]string) {
	t := *p
	for i := 1; i < len(t); i++ { // insertion sort: topic sets are small
		for j := i; j > 0 && t[j] < t[j-1]; j-- {
			t[j], t[j-1] = t[j-1], t[j]
		}
	}
	out := t[:0]
	for i, s := range t {
		if i == 0 || s != t[i-1] {
			out = append(out, s)
		}
	}
	*p = out
}
