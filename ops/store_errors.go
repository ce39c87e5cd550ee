package ops

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tidings/tidings/issues"
	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/schedule"
	"github.com/tidings/tidings/subscribers"
)

// storeError is an error of a store seen through ops: its
// message stays the store's own (the command line prints it as it always
// has), while errors.Is matches the ops sentinel and errors.As finds the
// FieldError naming the field, so the API can answer 422 with it.
type storeError struct {
	msg  string
	errs []error
}

func (e *storeError) Error() string   { return e.msg }
func (e *storeError) Unwrap() []error { return e.errs }

// as wraps err so that it also matches kind (a sentinel or a *FieldError),
// keeping err's message.
func as(kind, err error) error { return &storeError{msg: err.Error(), errs: []error{kind, err}} }

// mapStore maps a subscribers error to the ops sentinels. field names the
// input an ErrInvalid concerns; fieldOf, when set, picks it from the
// message (a list's settings are checked together, so the message says
// which one was wrong).
func mapStore(err error, field string, fieldOf func(msg string) string) error {
	if err == nil {
		return nil
	}
	var kind error
	switch {
	case errors.Is(err, subscribers.ErrInvalid):
		f := field
		if fieldOf != nil {
			if g := fieldOf(err.Error()); g != "" {
				f = g
			}
		}
		kind = &FieldError{Field: f, Problem: err.Error()}
	case errors.Is(err, subscribers.ErrNotFound):
		kind = ErrNotFound
	case errors.Is(err, subscribers.ErrExists), errors.Is(err, subscribers.ErrHasSubscribers):
		kind = ErrConflict
	default:
		return err
	}
	return as(kind, err)
}

// listField is the list setting a store message about a list is about.
// The store words its messages "list SLUG: what …" (or "list slug …" for
// the slug itself); the words after the prefix name the setting.
func listField(msg string) string {
	m := strings.ToLower(msg)
	if strings.HasPrefix(m, "list slug") {
		return "slug"
	}
	if strings.HasPrefix(m, "list ") {
		if _, rest, ok := strings.Cut(m, ": "); ok {
			m = rest
		}
	}
	for _, p := range []struct{ word, field string }{
		{"name", "name"},
		{"from", "from"},
		{"reply-to", "reply_to"},
		{"time zone", "tz"},
		{"language", "lang"},
		{"clicks", "clicks"},
		{"opens", "opens"},
		{"activity days", "activity_days"},
		{"a dkim key", "dkim_key"},
		{"templates", "templates"},
		{"address", "address"},
	} {
		if strings.HasPrefix(m, p.word) {
			return p.field
		}
	}
	return ""
}

// topicField is the topic field a store message about a topic is about:
// "topic slug …" for the slug, "topic SLUG: name …" for the name (keywords
// are cleaned, never refused).
func topicField(msg string) string {
	if strings.HasPrefix(strings.ToLower(msg), "topic slug") {
		return "slug"
	}
	return "name"
}

// subscriberField is the field of a subscriber change a store message is
// about, by how the message begins ("email …", "name …", "unknown topic
// …", "topic slug …", "status …"); the address is the default.
func subscriberField(msg string) string {
	m := strings.ToLower(msg)
	for _, p := range []struct{ word, field string }{
		{"email", "email"},
		{"name", "name"},
		{"unknown topic", "topics"},
		{"topic", "topics"},
		{"no topics", "topics"},
		{"status", "status"},
	} {
		if strings.HasPrefix(m, p.word) {
			return p.field
		}
	}
	return "email"
}

// errorsIsWALBusy: a deletion committed, but erased bytes may linger in
// the write-ahead log for a while (subscribers.ErrWALBusy).
func errorsIsWALBusy(err error) bool { return errors.Is(err, subscribers.ErrWALBusy) }

// plainInvalid is a FieldError whose message is the problem alone, worded
// as the store words it, for checks ops makes before calling the store.
func plainInvalid(field, format string, a ...any) error {
	fe := &FieldError{Field: field, Problem: fmt.Sprintf(format, a...)}
	return &storeError{msg: fe.Problem, errs: []error{fe}}
}

// storeErr maps the issue, schedule and mailer stores' sentinel errors
// (and the subscriber store's, without guessing the field) to the ops
// ones, keeping the message. field names the input an invalid value came
// from.
func storeErr(err error, field string) error {
	if err == nil {
		return nil
	}
	var pe *issues.ParseError
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrInvalid), errors.Is(err, ErrConflict), errors.Is(err, ErrForbidden):
		return err
	case errors.As(err, &pe):
		problem := pe.Msg
		if pe.Line > 0 {
			problem = fmt.Sprintf("line %d: %s", pe.Line, pe.Msg)
		}
		return as(&FieldError{Field: field, Problem: problem}, err)
	case errors.Is(err, issues.ErrNotFound), errors.Is(err, subscribers.ErrNotFound),
		errors.Is(err, schedule.ErrNotFound), errors.Is(err, mailer.ErrNotFound):
		return as(ErrNotFound, err)
	case errors.Is(err, issues.ErrExists), errors.Is(err, issues.ErrStatus), errors.Is(err, schedule.ErrState),
		errors.Is(err, subscribers.ErrExists), errors.Is(err, mailer.ErrAlreadySent):
		return as(ErrConflict, err)
	case errors.Is(err, issues.ErrUnknownTopic):
		return as(&FieldError{Field: "topics", Problem: err.Error()}, err)
	case errors.Is(err, schedule.ErrInvalid), errors.Is(err, schedule.ErrPast), errors.Is(err, subscribers.ErrInvalid):
		return as(&FieldError{Field: field, Problem: err.Error()}, err)
	}
	return err
}
