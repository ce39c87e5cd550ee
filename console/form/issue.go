package form

import (
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxIssue bounds an imported Markdown file.
const MaxIssue = 4 << 20

// Import is an issue's Markdown, uploaded or pasted.
type Import struct {
	Name    string // file name, for the importer's messages
	Source  []byte
	Replace bool
}

// ParseImport reads the import form: the file wins over the text box.
func ParseImport(w http.ResponseWriter, r *http.Request) (Import, error) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxIssue+64<<10)
	if err := r.ParseMultipartForm(MaxIssue); err != nil {
		if err := r.ParseForm(); err != nil {
			return Import{}, bad("file", "form.err.toolarge")
		}
	}
	f := Import{Name: "pasted.md", Replace: r.FormValue("replace") == "on"}
	if file, hdr, err := r.FormFile("file"); err == nil {
		defer file.Close()
		b, err := io.ReadAll(io.LimitReader(file, MaxIssue+1))
		if err != nil {
			return f, bad("file", "form.err.body")
		}
		if len(b) > MaxIssue {
			return f, bad("file", "form.err.toolarge")
		}
		f.Source, f.Name = b, filepath.Base(hdr.Filename)
	}
	if len(f.Source) == 0 {
		f.Source = []byte(strings.ReplaceAll(r.FormValue("source"), "\r\n", "\n"))
	}
	if len(strings.TrimSpace(string(f.Source))) == 0 {
		return f, bad("source", "form.err.issue.empty")
	}
	if !utf8.Valid(f.Source) {
		return f, bad("file", "form.err.utf8")
	}
	return f, nil
}

// Article is an article's title and topics, with what they were when the
// page was shown, so only what the editor changed is changed.
type Article struct {
	Title, OrigTitle   string
	Topics, OrigTopics []string
}

// TitleChanged and TopicsChanged say what to send to ops.
func (a Article) TitleChanged() bool  { return a.Title != a.OrigTitle }
func (a Article) TopicsChanged() bool { return !slices.Equal(a.Topics, a.OrigTopics) }

// ParseArticle reads one article's form.
func ParseArticle(r *http.Request) (Article, error) {
	if err := parse(r); err != nil {
		return Article{}, err
	}
	// A title is one line, whatever the text box let through.
	oneLine := strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")
	f := Article{Title: oneLine.Replace(field(r, "title")), OrigTitle: field(r, "orig_title"), Topics: topics(r, "topics")}
	if o := field(r, "orig_topics"); o != "" {
		f.OrigTopics = strings.Split(o, ",")
	}
	if _, ok := r.PostForm["title"]; !ok {
		f.Title = f.OrigTitle // the script sends topics only
	}
	slices.Sort(f.Topics)
	slices.Sort(f.OrigTopics)
	if f.Title == "" {
		return f, bad("title", "form.err.title.empty")
	}
	if utf8.RuneCountInString(f.Title) > 300 {
		return f, bad("title", "form.err.toolong")
	}
	return f, nil
}

// TestCopy is a test send: to whom, composed as which reader.
type TestCopy struct {
	To []string
	As string
}

// ParseTestCopy reads the test copy form: one or more addresses, comma
// separated.
func ParseTestCopy(r *http.Request) (TestCopy, error) {
	if err := parse(r); err != nil {
		return TestCopy{}, err
	}
	var f TestCopy
	for _, s := range strings.Split(field(r, "to"), ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !email(s) {
			return f, &Error{Field: "to", Key: "form.err.email.named", Arg: s}
		}
		f.To = append(f.To, s)
	}
	if len(f.To) == 0 {
		return f, bad("to", "form.err.email")
	}
	if len(f.To) > 10 {
		return f, bad("to", "form.err.test.many")
	}
	f.As = field(r, "as")
	if f.As != "" && !email(f.As) {
		return f, &Error{Field: "as", Key: "form.err.email.named", Arg: f.As}
	}
	return f, nil
}

// Schedule is a one-off send time as the list's zone reads it.
type Schedule struct {
	At string // "2006-01-02 15:04", as ops.Schedule takes it
}

// ParseSchedule reads the datetime-local input.
func ParseSchedule(r *http.Request) (Schedule, error) {
	if err := parse(r); err != nil {
		return Schedule{}, err
	}
	v := field(r, "at")
	if v == "" {
		return Schedule{}, bad("at", "form.err.at.empty")
	}
	if len(v) > len(localTime) {
		v = v[:len(localTime)]
	}
	if len(v) != len(localTime) || v[10] != 'T' {
		return Schedule{}, bad("at", "form.err.at.bad")
	}
	return Schedule{At: v[:10] + " " + v[11:]}, nil
}
