package form

import (
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/subscribers"
)

var slugRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)

// Topic is a topic's name and keywords (and slug when added).
type Topic struct {
	Slug, Name string
	Keywords   []string
}

// Keywords splits a keyword field, one or several a line separated by
// commas (， too), as the store cleans keywords.
func Keywords(s string) []string {
	return subscribers.CleanKeywords(strings.Split(s, "\n"))
}

// ParseTopic reads the topic form; withSlug for a new topic.
func ParseTopic(r *http.Request, withSlug bool) (Topic, error) {
	if err := parse(r); err != nil {
		return Topic{}, err
	}
	f := Topic{Slug: field(r, "slug"), Name: field(r, "name"), Keywords: Keywords(r.PostForm.Get("keywords"))}
	if withSlug && !slugRE.MatchString(f.Slug) {
		return f, bad("slug", "form.err.slug")
	}
	if f.Name == "" {
		return f, bad("name", "form.err.name.empty")
	}
	if utf8.RuneCountInString(f.Name) > 200 {
		return f, bad("name", "form.err.toolong")
	}
	return f, nil
}

// List is a list's settings.
type List struct {
	Slug, Name, From, ReplyTo, Address, TZ string
	Lang                                   tidings.Lang
	Clicks, Opens                          tidings.Tracking
}

// ParseList reads the list settings form; withSlug for a new list.
func ParseList(r *http.Request, withSlug bool) (List, error) {
	if err := parse(r); err != nil {
		return List{}, err
	}
	f := List{Slug: field(r, "slug"), Name: field(r, "name"), From: field(r, "from"), ReplyTo: field(r, "reply_to"),
		Address: field(r, "address"), TZ: field(r, "tz")}
	if withSlug && !slugRE.MatchString(f.Slug) {
		return f, bad("slug", "form.err.slug")
	}
	if f.Name == "" {
		return f, bad("name", "form.err.name.empty")
	}
	if f.From == "" {
		return f, bad("from", "form.err.from")
	}
	l, err := tidings.ParseLang(field(r, "lang"))
	if err != nil {
		return f, bad("lang", "form.err.lang")
	}
	f.Lang = l
	if v := field(r, "clicks"); v != "" {
		if f.Clicks, err = tidings.ParseTracking(v); err != nil {
			return f, bad("clicks", "form.err.tracking")
		}
	}
	if v := field(r, "opens"); v != "" {
		if f.Opens, err = tidings.ParseTracking(v); err != nil {
			return f, bad("opens", "form.err.tracking")
		}
	}
	return f, nil
}

// Grant is a user or token: who, which role, which lists.
type Grant struct {
	Name     string // email for users, a name for tokens
	Role     tidings.Role
	Lists    []string
	Password string
}

// ParseGrant reads the user or token form.
func ParseGrant(r *http.Request, user bool) (Grant, error) {
	if err := parse(r); err != nil {
		return Grant{}, err
	}
	f := Grant{Name: field(r, "name"), Lists: topics(r, "lists"), Password: r.PostForm.Get("password")}
	if user && !email(f.Name) {
		return f, bad("name", "form.err.email")
	}
	if !user && !slugRE.MatchString(f.Name) {
		return f, bad("name", "form.err.slug")
	}
	role, err := tidings.ParseRole(field(r, "role"))
	if err != nil {
		return f, bad("role", "form.err.role")
	}
	f.Role = role
	if f.Password != "" && utf8.RuneCountInString(f.Password) < MinPassword {
		return f, bad("password", "form.err.password.short")
	}
	return f, nil
}

// Recurring is a cron schedule for a list.
type Recurring struct {
	List, Cron string
}

// ParseRecurring reads the recurring schedule form.
func ParseRecurring(r *http.Request) (Recurring, error) {
	if err := parse(r); err != nil {
		return Recurring{}, err
	}
	f := Recurring{List: field(r, "list"), Cron: field(r, "cron")}
	if f.List == "" {
		return f, bad("list", "form.err.list")
	}
	if len(strings.Fields(f.Cron)) != 5 {
		return f, bad("cron", "form.err.cron")
	}
	return f, nil
}
