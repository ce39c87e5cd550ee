package ops

import (
	"errors"
	"fmt"

	"github.com/tidings/tidings/issues"
	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/schedule"
	"github.com/tidings/tidings/subscribers"
)

// kindOf is an error that keeps the store's own message (the CLI prints
// it as it always has) and also matches an ops sentinel, or a FieldError
// that errors.As finds for the API's 422.
type kindOf struct {
	kind error // ErrNotFound, ErrConflict, … or a *FieldError
	err  error
}

func (e *kindOf) Error() string   { return e.err.Error() }
func (e *kindOf) Unwrap() []error { return []error{e.kind, e.err} }

// as wraps err so that it also matches kind.
func as(kind, err error) error { return &kindOf{kind: kind, err: err} }

// storeErr maps the stores' sentinel errors to the ops ones, keeping the
// message. field names the input an invalid value came from.
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
