package console

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/tidings/tidings"
)

// catalog is the console's words in one language (texts.go holds them).
type catalog struct {
	lang  tidings.Lang
	words map[string]string
}

var catalogs = map[tidings.Lang]*catalog{
	tidings.LangEN: {tidings.LangEN, textsEN},
	tidings.LangZH: {tidings.LangZH, textsZH},
}

func (c *catalog) has(key string) bool { _, ok := c.words[key]; return ok }

// text is key in c's language; a missing key shows itself (and
// TestTextsComplete fails), never an empty label.
func (c *catalog) text(key string, args ...any) string {
	s, ok := c.words[key]
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// langCookie holds a signed-out visitor's choice of language.
const langCookie = "tidings_lang"

// language is the console language for r: the signed-in user's stored
// choice, else the language cookie, else the browser's Accept-Language,
// else Chinese (our first users' language).
func (h *handler) language(r *http.Request) tidings.Lang {
	if signedIn(r) {
		if l := actorOf(r).Lang; l == tidings.LangZH || l == tidings.LangEN {
			return l
		}
	}
	if c, err := r.Cookie(langCookie); err == nil {
		if l, err := tidings.ParseLang(c.Value); err == nil {
			return l
		}
	}
	if l, ok := acceptLanguage(r.Header.Get("Accept-Language")); ok {
		return l
	}
	return tidings.LangZH
}

// acceptLanguage picks zh or en from an Accept-Language header by quality.
func acceptLanguage(h string) (tidings.Lang, bool) {
	best, bestQ := tidings.Lang(""), -1.0
	for _, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		primary, _, _ := strings.Cut(strings.ToLower(tag), "-")
		var l tidings.Lang
		switch primary {
		case "zh":
			l = tidings.LangZH
		case "en":
			l = tidings.LangEN
		default:
			continue
		}
		if q > bestQ && q > 0 {
			best, bestQ = l, q
		}
	}
	return best, best != ""
}
