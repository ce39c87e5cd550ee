// Package tidings holds the domain of the tidings newsletter mailer: lists,
// topics, subscribers, issues and deliveries, and the embedded SQLite schema.
//
// It imports nothing of the project. Each concern lives in a package of its
// own (subscribers, issues, render, mailer, schedule, web, inbound) that
// imports this one; cmd/tidings wires them together.
package tidings

import (
	_ "embed"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Schema is schema.sql: the ordered forward migrations of the database.
//
//go:embed schema.sql
var Schema string

// Migration is one step of Schema: the SQL that moves a database from
// Version-1 to Version.
type Migration struct {
	Version int
	SQL     string
}

// Migrations splits Schema at its "-- migration: N" markers. Versions must
// start at 1 and increase by one; a violation is a programming error that
// the tests catch, so it is reported rather than silently skipped.
func Migrations() ([]Migration, error) {
	var out []Migration
	var cur *Migration
	var b strings.Builder
	for _, line := range strings.SplitAfter(Schema, "\n") {
		trimmed := strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(trimmed, "-- migration:"); ok {
			if cur != nil {
				cur.SQL = b.String()
				out = append(out, *cur)
			}
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n != len(out)+1 {
				return nil, fmt.Errorf("schema.sql: bad migration marker %q", trimmed)
			}
			cur = &Migration{Version: n}
			b.Reset()
			continue
		}
		if cur != nil {
			b.WriteString(line)
		}
	}
	if cur != nil {
		cur.SQL = b.String()
		out = append(out, *cur)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("schema.sql: no migrations")
	}
	return out, nil
}

// Lang is the language of a list's reader-facing text.
type Lang string

const (
	LangZH Lang = "zh"
	LangEN Lang = "en"
)

// ParseLang accepts zh, en and the common spellings of them.
func ParseLang(s string) (Lang, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "zh", "zh-cn", "zh_cn", "zh-hans", "cn":
		return LangZH, nil
	case "en", "en-us", "en-gb", "en_us":
		return LangEN, nil
	}
	return "", fmt.Errorf("language %q: want zh or en", s)
}

// Tag is the BCP 47 tag for HTML lang attributes and Content-Language.
func (l Lang) Tag() string {
	if l == LangZH {
		return "zh-CN"
	}
	return "en"
}

// List is a newsletter.
type List struct {
	ID          int64
	Slug        string
	Name        string
	From        string // "Name <addr@example.org>"
	Lang        Lang
	TZ          string // IANA zone name
	ReplyTo     string
	Address     string // postal address shown in every mail
	TemplateDir string // optional directory overriding templates/ by file name
	// DKIMSelector and DKIMKey (PEM) are the list's own signing key; empty
	// when the list uses the process-wide key. The key never leaves the
	// database through exports, logs or the API.
	DKIMSelector string
	DKIMKey      string
	// Clicks and Opens are the list's engagement tracking; ActivityDays how
	// long per-person events are kept before they are folded into counts.
	Clicks       Tracking
	Opens        Tracking
	ActivityDays int
	CreatedAt    time.Time
	Subscribers  int // confirmed subscribers, filled by listings
}

// Location is the list's time zone, UTC when unknown.
func (l *List) Location() *time.Location {
	if loc, err := time.LoadLocation(l.TZ); err == nil && l.TZ != "" {
		return loc
	}
	return time.UTC
}

// FromAddress is the bare address of From, e.g. "news@example.org".
func (l *List) FromAddress() string {
	s := l.From
	if i := strings.LastIndexByte(s, '<'); i >= 0 {
		s = s[i+1:]
		s = strings.TrimSuffix(strings.TrimSpace(s), ">")
	}
	return strings.TrimSpace(s)
}

// Domain is the domain of the From address: VERP and list addresses live there.
func (l *List) Domain() string {
	a := l.FromAddress()
	return strings.ToLower(a[strings.LastIndexByte(a, '@')+1:])
}

// Tracking is how a list counts clicks or opens.
type Tracking string

const (
	TrackOff        Tracking = "off"        // links go straight to their targets; nothing is stored
	TrackAggregate  Tracking = "aggregate"  // counts per issue, article, link and topic; no row names a person
	TrackIndividual Tracking = "individual" // events per subscriber, shown in sub show and the GDPR export
)

// ParseTracking validates a tracking mode.
func ParseTracking(s string) (Tracking, error) {
	switch t := Tracking(strings.ToLower(strings.TrimSpace(s))); t {
	case TrackOff, TrackAggregate, TrackIndividual:
		return t, nil
	}
	return "", fmt.Errorf("tracking %q: want off, aggregate or individual", s)
}

// Topic is a subject area of a list that readers choose and articles carry.
type Topic struct {
	ID          int64
	ListID      int64
	Slug        string
	Name        string
	Keywords    []string
	Subscribers int // confirmed subscribers who receive this topic, filled by listings
}

// Status is a subscriber's standing on one list.
type Status string

const (
	StatusPending      Status = "pending"
	StatusConfirmed    Status = "confirmed"
	StatusUnsubscribed Status = "unsubscribed"
	StatusBounced      Status = "bounced"
	StatusBlocked      Status = "blocked"
)

// ParseStatus validates a status name.
func ParseStatus(s string) (Status, error) {
	switch st := Status(strings.ToLower(strings.TrimSpace(s))); st {
	case StatusPending, StatusConfirmed, StatusUnsubscribed, StatusBounced, StatusBlocked:
		return st, nil
	}
	return "", fmt.Errorf("status %q: want pending, confirmed, unsubscribed, bounced or blocked", s)
}

// Subscriber is one person, identified by email address.
type Subscriber struct {
	ID        int64
	Email     string // for sending: local part as given, domain normalised
	Name      string
	CreatedAt time.Time
	// Subscriptions, when loaded, are the person's lists.
	Subscriptions []Subscription
}

// Subscription is a subscriber on one list.
type Subscription struct {
	ListID       int64
	ListSlug     string
	SubscriberID int64
	Status       Status
	AllTopics    bool     // every topic, including topics added later
	Topics       []string // topic slugs, when not AllTopics
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// IssueStatus is where an issue stands in its life.
type IssueStatus string

const (
	IssueDraft     IssueStatus = "draft"
	IssueReady     IssueStatus = "ready"
	IssueScheduled IssueStatus = "scheduled"
	IssueSending   IssueStatus = "sending"
	IssueSent      IssueStatus = "sent"
)

// Issue is one numbered edition of a list.
type Issue struct {
	ID        int64
	ListID    int64
	Number    int
	Title     string
	Subject   string // empty: derived from Title and Number by the renderer
	Preheader string
	Date      string
	Masthead  string // Markdown
	Intro     string // Markdown
	Footer    string // Markdown: the colophon
	Source    string
	Status    IssueStatus
	CreatedAt time.Time
	SentAt    time.Time
	Articles  []Article
}

// TaggedBy says where an article's topics came from; hand wins over the rest.
type TaggedBy string

const (
	TaggedByKeywords  TaggedBy = "keywords"
	TaggedByAttribute TaggedBy = "attribute"
	TaggedByHand      TaggedBy = "hand"
)

// Article is one piece of an issue.
type Article struct {
	ID       int64
	IssueID  int64
	Position int // 1-based
	Title    string
	Body     string   // Markdown without the heading
	Topics   []string // topic slugs; none means every reader gets it
	TaggedBy TaggedBy
}

// DeliveryState is the state of one recipient's copy of an issue.
type DeliveryState string

const (
	DeliveryPending    DeliveryState = "pending"
	DeliverySending    DeliveryState = "sending"
	DeliverySent       DeliveryState = "sent"
	DeliveryFailed     DeliveryState = "failed"
	DeliverySkipped    DeliveryState = "skipped"
	DeliveryBounced    DeliveryState = "bounced"
	DeliveryComplained DeliveryState = "complained"
)

// Recipient is what rendering and sending need to know of one subscriber
// on one list.
type Recipient struct {
	SubscriberID int64
	Email        string
	Name         string
	AllTopics    bool
	Topics       []string // slugs, when not AllTopics
}

// Receives is the one rule of who gets which article, shared by rendering
// (which composes the mail), the audience and previews (which count and
// show it): an article without topics goes to every reader; otherwise to
// readers of every topic, or of one of the article's topics.
func (rc *Recipient) Receives(articleTopics []string) bool {
	if rc.AllTopics || len(articleTopics) == 0 {
		return true
	}
	for _, t := range articleTopics {
		for _, u := range rc.Topics {
			if t == u {
				return true
			}
		}
	}
	return false
}

// TopicKey names the reader's topic choice as the delivery log stores it
// (deliveries.topic_key): "all", "none", or the sorted slugs joined by ",".
func (rc *Recipient) TopicKey() string {
	if rc.AllTopics {
		return "all"
	}
	if len(rc.Topics) == 0 {
		return "none"
	}
	t := slices.Clone(rc.Topics)
	slices.Sort(t)
	return strings.Join(slices.Compact(t), ",")
}
