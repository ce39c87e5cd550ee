// Package form parses and checks the console's forms, one function per
// form. A bad field is an *Error naming the field and an i18n key of the
// console's catalog, so the page can show the message next to the field
// in the user's language.
package form

import (
	"errors"
	"net/http"
	"strings"
)

// ErrBad is every form error, for errors.Is.
var ErrBad = errors.New("bad form input")

// Error is one bad field.
type Error struct {
	Field string // the input's name
	Key   string // i18n key of the message
	Arg   string // fills the message's %s, if any
}

func (e *Error) Error() string        { return e.Field + ": " + e.Key }
func (e *Error) Is(target error) bool { return target == ErrBad }

func bad(field, key string) error { return &Error{Field: field, Key: key} }

// maxForm bounds a form body; uploads have their own limit.
const maxForm = 1 << 20

func parse(r *http.Request) error {
	r.Body = http.MaxBytesReader(nil, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return bad("form", "form.err.body")
	}
	return nil
}

func field(r *http.Request, name string) string { return strings.TrimSpace(r.PostForm.Get(name)) }

// email checks an address loosely: ops and the mailer check it for real.
func email(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1 && !strings.ContainsAny(s, " \t\r\n<>,;\"") && len(s) <= 254
}

// topics reads the chosen topic slugs of checkboxes named name.
func topics(r *http.Request, name string) []string {
	var out []string
	for _, v := range r.PostForm[name] {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// localTime is how a datetime-local input writes a time.
const localTime = "2006-01-02T15:04"
