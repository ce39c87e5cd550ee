package ops

import (
	"context"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/schedule"
)

// IssueDetail is an issue with what the front ends show beside it.
type IssueDetail struct {
	Issue  *tidings.Issue // with Articles
	List   *tidings.List
	Topics []tidings.Topic
	// Subject is the subject line as mail will carry it.
	Subject string
}

// ArticleChange changes an article in place; nil fields stay as they are.
type ArticleChange struct {
	Title  *string
	Topics *[]string // topic slugs; empty: every reader gets the article
}

// Audience is who gets what of an issue as tagged now; it agrees exactly
// with what send will do.
type Audience struct {
	IssueID      int64
	Total        int // confirmed readers of the list
	Skipped      int // confirmed readers whose topics select no article
	Articles     []ArticleAudience
	Combinations []Combination // most subscribers first
}

// ArticleAudience is how many confirmed readers get one article.
type ArticleAudience struct {
	Position   int
	Recipients int
}

// Combination is one distinct set of articles and the readers who get it.
type Combination struct {
	Topics      []string // the readers' topic slugs; ["all"] for all-topics readers
	Articles    []int    // positions
	Subscribers int
}

// PreviewFor chooses whose mail to preview: one reader (Email) or a set of
// topics (Topics; ["all"] for every topic).
type PreviewFor struct {
	Email  string
	Topics []string
}

// Preview is the mail exactly as that reader would get it.
type Preview struct {
	Subject  string
	HTML     string
	Text     string
	EML      []byte
	Email    string         // the reader previewed; "" for a topic set
	Status   tidings.Status // the reader's status on the list ("" for a topic set)
	Topics   []string       // the topic set the preview was made for
	Articles []int          // positions the mail holds
}

// ListSummary is one list on the console's home page.
type ListSummary struct {
	List      tidings.List
	Counts    map[tidings.Status]int
	Next      []schedule.Schedule // next scheduled sends, soonest first
	LastSends []SendSummary       // most recent first
}

// SendSummary is one finished or running send with its figures.
type SendSummary struct {
	IssueID      int64
	Number       int
	Title        string
	State        string
	StartedAt    time.Time
	FinishedAt   time.Time
	Counts       mailer.Counts
	Bounced      int
	Unsubscribed int     // readers who left after this issue
	ClickRate    float64 // human clickers (or clicks) per delivered message; -1 when tracking is off
}

// Home is the console's home page: every list the actor may see.
func (s *Service) Home(ctx context.Context, a tidings.Actor) ([]ListSummary, error) {
	return nil, errNotImplemented
}

// Issues are a list's issues, newest first.
func (s *Service) Issues(ctx context.Context, a tidings.Actor, listSlug string) ([]tidings.Issue, error) {
	return nil, errNotImplemented
}

// Issue is one issue with its list and topics.
func (s *Service) Issue(ctx context.Context, a tidings.Actor, id int64) (*IssueDetail, error) {
	return nil, errNotImplemented
}

// ImportIssue parses src (Markdown) and stores it as a new issue of the
// list; with replace, an unsent issue of the same number is replaced.
// A parse error is a *issues.ParseError (with its line), wrapped.
func (s *Service) ImportIssue(ctx context.Context, a tidings.Actor, listSlug, name string, src []byte, replace bool) (*tidings.Issue, error) {
	return nil, errNotImplemented
}

// UpdateArticle changes an article's title or topics (topics set by hand).
func (s *Service) UpdateArticle(ctx context.Context, a tidings.Actor, issueID int64, position int, c ArticleChange) (*tidings.Article, error) {
	return nil, errNotImplemented
}

// Retag re-applies topic keywords to the articles not tagged by hand.
func (s *Service) Retag(ctx context.Context, a tidings.Actor, issueID int64) (changed int, err error) {
	return 0, errNotImplemented
}

// MarkReady marks a draft ready for the recurring schedule.
func (s *Service) MarkReady(ctx context.Context, a tidings.Actor, issueID int64) error {
	return errNotImplemented
}

// Audience counts who gets what, aggregated by topic set in SQL.
func (s *Service) Audience(ctx context.Context, a tidings.Actor, issueID int64) (*Audience, error) {
	return nil, errNotImplemented
}

// Preview renders the issue as one reader or one topic set would get it.
func (s *Service) Preview(ctx context.Context, a tidings.Actor, issueID int64, p PreviewFor) (*Preview, error) {
	return nil, errNotImplemented
}

// SendTest sends a marked test copy to each address in to, composed as
// the reader asEmail would get it ("" = every topic). It returns the
// Message-IDs.
func (s *Service) SendTest(ctx context.Context, a tidings.Actor, issueID int64, to []string, asEmail string) ([]string, error) {
	return nil, errNotImplemented
}

// Schedule schedules a one-off send of the issue at a time written as the
// CLI's --at takes it, in tz ("" = the list's zone).
func (s *Service) Schedule(ctx context.Context, a tidings.Actor, issueID int64, at, tz string) (*schedule.Schedule, error) {
	return nil, errNotImplemented
}

// AddRecurring adds a cron schedule to a list.
func (s *Service) AddRecurring(ctx context.Context, a tidings.Actor, listSlug, spec, tz string) (*schedule.Schedule, error) {
	return nil, errNotImplemented
}

// Schedules are the schedules of the actor's lists ("" = all of them).
func (s *Service) Schedules(ctx context.Context, a tidings.Actor, listSlug string) ([]schedule.Schedule, error) {
	return nil, errNotImplemented
}

// RemoveSchedule removes a schedule, putting a one-off's issue back.
func (s *Service) RemoveSchedule(ctx context.Context, a tidings.Actor, id int64) error {
	return errNotImplemented
}

// SendNow hands the issue to the daemon, which starts sending within
// seconds; it returns the number of confirmed recipients.
func (s *Service) SendNow(ctx context.Context, a tidings.Actor, issueID int64) (recipients int, err error) {
	return 0, errNotImplemented
}

// PauseSend, ResumeSend and CancelSend control a running send. Cancel
// skips every delivery not yet made; what went out stays sent.
func (s *Service) PauseSend(ctx context.Context, a tidings.Actor, issueID int64) error {
	return errNotImplemented
}

func (s *Service) ResumeSend(ctx context.Context, a tidings.Actor, issueID int64) error {
	return errNotImplemented
}

func (s *Service) CancelSend(ctx context.Context, a tidings.Actor, issueID int64) error {
	return errNotImplemented
}

// SendStatus is where the send stands: totals by state, rate, ETA and the
// latest failures with their SMTP replies.
type SendStatus struct {
	mailer.Status
	Bounces int
	Rate    float64       // messages per second over the last minute
	ETA     time.Duration // 0 when unknown or done
}

// Status reads the delivery log of an issue.
func (s *Service) Status(ctx context.Context, a tidings.Actor, issueID int64, maxFailures int) (*SendStatus, error) {
	return nil, errNotImplemented
}
