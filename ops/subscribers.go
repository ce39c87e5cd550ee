package ops

import (
	"context"
	"io"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/subscribers"
)

// Lists are the lists the actor may see.
func (s *Service) Lists(ctx context.Context, a tidings.Actor) ([]tidings.List, error) {
	return nil, errNotImplemented
}

// List is one list the actor may see.
func (s *Service) List(ctx context.Context, a tidings.Actor, slug string) (*tidings.List, error) {
	return nil, errNotImplemented
}

// CreateList adds a list (admin).
func (s *Service) CreateList(ctx context.Context, a tidings.Actor, l *tidings.List) error {
	return errNotImplemented
}

// UpdateList changes a list's settings (admin); fn edits a copy.
func (s *Service) UpdateList(ctx context.Context, a tidings.Actor, slug string, fn func(*tidings.List) error) (*tidings.List, error) {
	return nil, errNotImplemented
}

// DeleteList removes a list (admin); it refuses while the list has
// subscribers unless force.
func (s *Service) DeleteList(ctx context.Context, a tidings.Actor, slug string, force bool) error {
	return errNotImplemented
}

// Topics are a list's topics with their subscriber counts.
func (s *Service) Topics(ctx context.Context, a tidings.Actor, listSlug string) ([]tidings.Topic, error) {
	return nil, errNotImplemented
}

// AddTopic, UpdateTopic and DeleteTopic manage a list's topics (admin).
func (s *Service) AddTopic(ctx context.Context, a tidings.Actor, listSlug string, t *tidings.Topic) error {
	return errNotImplemented
}

func (s *Service) UpdateTopic(ctx context.Context, a tidings.Actor, listSlug, slug string, fn func(*tidings.Topic) error) (*tidings.Topic, error) {
	return nil, errNotImplemented
}

func (s *Service) DeleteTopic(ctx context.Context, a tidings.Actor, listSlug, slug string) error {
	return errNotImplemented
}

// KeywordHit is an article of a recent issue that keywords would tag.
type KeywordHit struct {
	IssueID  int64
	Number   int
	Position int
	Title    string
	Matched  []string // the keywords found
}

// KeywordPreview shows what keywords would tag in the list's last issues.
func (s *Service) KeywordPreview(ctx context.Context, a tidings.Actor, listSlug string, keywords []string, lastIssues int) ([]KeywordHit, error) {
	return nil, errNotImplemented
}

// SubscriberQuery filters and pages a list's subscribers.
type SubscriberQuery struct {
	Q      string         // part of the address or name
	Status tidings.Status // "" = any
	Topic  string         // topic slug: readers who receive it
	Cursor string         // from the previous page's Next
	Limit  int            // default 50, at most 500
}

// SubscriberRow is one subscriber on one list.
type SubscriberRow struct {
	ID        int64
	Email     string
	Name      string
	Status    tidings.Status
	AllTopics bool
	Topics    []string
	UpdatedAt time.Time
}

// SubscriberPage is one page of a keyset-paginated listing.
type SubscriberPage struct {
	Rows []SubscriberRow
	Next string // "" on the last page
}

// Subscribers lists a list's subscribers, keyset-paginated.
func (s *Service) Subscribers(ctx context.Context, a tidings.Actor, listSlug string, q SubscriberQuery) (*SubscriberPage, error) {
	return nil, errNotImplemented
}

// SubscriberEvent is one line of a person's history on a list.
type SubscriberEvent struct {
	At     time.Time
	ListID int64
	Kind   string // subscribed, confirmed, unsubscribed, bounced, blocked, topics, delivery, bounce
	Detail string
	Issue  int64
}

// SubscriberDetail is a person's page: only the subscriptions on the
// actor's lists. A person on none of them is ErrNotFound, never
// ErrForbidden, so an editor cannot learn who is on other lists.
type SubscriberDetail struct {
	Subscriber tidings.Subscriber
	History    []SubscriberEvent // newest first
}

// Subscriber is one person, by address.
func (s *Service) Subscriber(ctx context.Context, a tidings.Actor, email string) (*SubscriberDetail, error) {
	return nil, errNotImplemented
}

// AddSubscriber adds a person to a list, confirmed at once (an editor may).
func (s *Service) AddSubscriber(ctx context.Context, a tidings.Actor, listSlug, email, name string, topics subscribers.TopicChoice) (*tidings.Subscriber, error) {
	return nil, errNotImplemented
}

// SetSubscriberTopics changes a person's topics on a list.
func (s *Service) SetSubscriberTopics(ctx context.Context, a tidings.Actor, listSlug, email string, topics subscribers.TopicChoice) error {
	return errNotImplemented
}

// SetSubscriberStatus unsubscribes, blocks or re-confirms a person on a list.
func (s *Service) SetSubscriberStatus(ctx context.Context, a tidings.Actor, listSlug, email string, st tidings.Status) error {
	return errNotImplemented
}

// DeleteSubscriber erases every trace of the person (admin).
func (s *Service) DeleteSubscriber(ctx context.Context, a tidings.Actor, email string) error {
	return errNotImplemented
}

// ImportRequest is a CSV (or JSON) import of subscribers.
type ImportRequest struct {
	DefaultTopics subscribers.TopicChoice
	DryRun        bool
}

// Job is a background import or export with its progress.
type Job struct {
	ID         int64
	Kind       string // import | export
	ListSlug   string
	State      string // queued, running, done, failed
	DryRun     bool
	Total      int
	Done       int
	Stats      *subscribers.ImportStats
	Errors     []LineError // import: the bad lines
	Error      string      // failed: why
	CreatedAt  time.Time
	FinishedAt time.Time
}

// LineError is one bad line of an import file.
type LineError struct {
	Line    int
	Problem string
}

// StartImport starts importing data into a list in the background (admin).
func (s *Service) StartImport(ctx context.Context, a tidings.Actor, listSlug string, data []byte, r ImportRequest) (*Job, error) {
	return nil, errNotImplemented
}

// StartExport starts exporting a list in the background (admin).
func (s *Service) StartExport(ctx context.Context, a tidings.Actor, listSlug, format string) (*Job, error) {
	return nil, errNotImplemented
}

// Job reads a job's progress and result.
func (s *Service) Job(ctx context.Context, a tidings.Actor, id int64) (*Job, error) {
	return nil, errNotImplemented
}

// JobOutput writes a finished export to w.
func (s *Service) JobOutput(ctx context.Context, a tidings.Actor, id int64, w io.Writer) (contentType string, err error) {
	return "", errNotImplemented
}

// Export writes a list's subscribers to w now (the CLI's sub export).
func (s *Service) Export(ctx context.Context, a tidings.Actor, listSlug, format string, w io.Writer) error {
	return errNotImplemented
}

// Bounce is one bounce or complaint.
type Bounce struct {
	ID         int64
	Email      string
	ListSlug   string
	IssueID    int64
	Kind       string // hard, soft, complaint
	Code       string
	Diagnostic string
	Source     string
	At         time.Time
}

// Bounces lists a list's bounces and complaints, newest first, by keyset.
func (s *Service) Bounces(ctx context.Context, a tidings.Actor, listSlug, kind, cursor string, limit int) ([]Bounce, string, error) {
	return nil, "", errNotImplemented
}
