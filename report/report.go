// Package report answers "how did this issue do?": deliveries, bounces,
// complaints, unsubscribes, and opens and clicks counted apart for people
// and machines, per article, topic and link. The CLI, the API and the
// console share this one query layer (through package ops).
package report

import (
	"errors"
	"time"
)

// Sentinel errors of the package.
var (
	// ErrNotFound: no such issue or list.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: a parameter out of range (e.g. a trend over 0 issues).
	ErrInvalid = errors.New("invalid input")
)

// Report is one issue's figures; the JSON keys are CONTRACT.md's.
type Report struct {
	Issue  int64  `json:"issue"`
	Number int    `json:"number"`
	Title  string `json:"title"`
	List   string `json:"list"`
	// ListID is for authorization by the caller; not part of the document.
	ListID int64 `json:"-"`
	// Status is the issue's (draft, ready, scheduled, sending, sent).
	Status       string `json:"status"`
	Recipients   int    `json:"recipients"`
	Delivered    int    `json:"delivered"`
	Bounced      int    `json:"bounced"`
	BouncedHard  int    `json:"bounced_hard"`
	BouncedSoft  int    `json:"bounced_soft"`
	Complaints   int    `json:"complaints"`
	Unsubscribed int    `json:"unsubscribed"`
	Opens        Counts `json:"opens"`
	Clicks       Counts `json:"clicks"`
	// UniqueClickers is null unless the list tracks clicks individually.
	UniqueClickers *int      `json:"unique_clickers"`
	Articles       []Article `json:"articles"`
	Topics         []Topic   `json:"topics"`
	Links          []Link    `json:"links"`
	// MachineReasons counts machine events by the rule that decided.
	MachineReasons map[string]int `json:"machine_reasons"`
	// Timeline is human clicks per hour over the first 48 hours.
	Timeline []Point `json:"timeline"`
	// ClicksTracking and OpensTracking are the list's modes when reported.
	ClicksTracking string    `json:"clicks_tracking"`
	OpensTracking  string    `json:"opens_tracking"`
	SentAt         time.Time `json:"sent_at"`
}

// Counts splits events into people's and machines'.
type Counts struct {
	Total   int `json:"total"`
	Human   int `json:"human"`
	Machine int `json:"machine"`
}

// Article is one article's reach and human clicks.
type Article struct {
	Position      int      `json:"position"`
	Title         string   `json:"title"`
	Topics        []string `json:"topics"` // slugs; empty: every reader got it
	Recipients    int      `json:"recipients"`
	ClicksHuman   int      `json:"clicks_human"`
	ClicksMachine int      `json:"clicks_machine"`
}

// Topic is one topic's reach and human clicks. Recipients are the readers
// who got the topic's articles (readers of the topic and of every topic);
// ClicksHuman are human clicks on articles of the topic (an article of two
// topics counts for both); ReaderClicksHuman are human clicks, on any
// article, by readers who chose the topic (from the link's topic set).
type Topic struct {
	Slug              string `json:"slug"`
	Name              string `json:"name"`
	Recipients        int    `json:"recipients"`
	ClicksHuman       int    `json:"clicks_human"`
	ReaderClicksHuman int    `json:"reader_clicks_human"`
}

// Link is one link's reach and clicks. Position is its article's (0:
// outside any article); Index its order within the article; Recipients
// are its article's (the readers whose mail carried the link).
type Link struct {
	URL           string `json:"url"`
	Position      int    `json:"position"`
	Index         int    `json:"index"`
	Recipients    int    `json:"recipients"`
	ClicksHuman   int    `json:"clicks_human"`
	ClicksMachine int    `json:"clicks_machine"`
}

// Point is one bucket of the timeline.
type Point struct {
	At    time.Time `json:"at"`
	Human int       `json:"human"`
}
