package form

import (
	"io"
	"net/http"
	"unicode/utf8"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/subscribers"
)

// Subscriber is a person added by an editor or admin.
type Subscriber struct {
	Email, Name string
	Topics      subscribers.TopicChoice
}

// topicChoice reads the "every topic" box and the topic checkboxes.
func topicChoice(r *http.Request) subscribers.TopicChoice {
	if r.PostForm.Get("all_topics") == "on" {
		return subscribers.AllTopics
	}
	return subscribers.TopicChoice{Slugs: topics(r, "topics")}
}

// ParseSubscriber reads the add form.
func ParseSubscriber(r *http.Request) (Subscriber, error) {
	if err := parse(r); err != nil {
		return Subscriber{}, err
	}
	f := Subscriber{Email: field(r, "email"), Name: field(r, "name"), Topics: topicChoice(r)}
	if !email(f.Email) {
		return f, bad("email", "form.err.email")
	}
	if utf8.RuneCountInString(f.Name) > 200 {
		return f, bad("name", "form.err.toolong")
	}
	if !f.Topics.All && len(f.Topics.Slugs) == 0 {
		return f, bad("topics", "form.err.topics.none")
	}
	return f, nil
}

// SubscriberTopics is a change of a person's topics on one list.
type SubscriberTopics struct {
	List   string
	Topics subscribers.TopicChoice
}

// ParseSubscriberTopics reads the topics form of a person's page.
func ParseSubscriberTopics(r *http.Request) (SubscriberTopics, error) {
	if err := parse(r); err != nil {
		return SubscriberTopics{}, err
	}
	f := SubscriberTopics{List: field(r, "list"), Topics: topicChoice(r)}
	if f.List == "" {
		return f, bad("list", "form.err.list")
	}
	if !f.Topics.All && len(f.Topics.Slugs) == 0 {
		return f, bad("topics", "form.err.topics.none")
	}
	return f, nil
}

// SubscriberStatus is unsubscribe, block or re-confirm on one list.
type SubscriberStatus struct {
	List   string
	Status tidings.Status
}

// ParseSubscriberStatus reads a status button.
func ParseSubscriberStatus(r *http.Request) (SubscriberStatus, error) {
	if err := parse(r); err != nil {
		return SubscriberStatus{}, err
	}
	f := SubscriberStatus{List: field(r, "list")}
	if f.List == "" {
		return f, bad("list", "form.err.list")
	}
	st, err := tidings.ParseStatus(field(r, "status"))
	if err != nil || (st != tidings.StatusUnsubscribed && st != tidings.StatusBlocked && st != tidings.StatusConfirmed) {
		return f, bad("status", "form.err.status")
	}
	f.Status = st
	return f, nil
}

// MaxCSV bounds an uploaded subscriber file.
const MaxCSV = 64 << 20

// SubscriberImport is a CSV upload.
type SubscriberImport struct {
	Data   []byte
	DryRun bool
	Topics subscribers.TopicChoice
}

// ParseSubscriberImport reads the CSV upload form.
func ParseSubscriberImport(w http.ResponseWriter, r *http.Request) (SubscriberImport, error) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxCSV+64<<10)
	if err := r.ParseMultipartForm(8 << 20); err != nil {
		return SubscriberImport{}, bad("file", "form.err.toolarge")
	}
	f := SubscriberImport{DryRun: r.PostFormValue("dry_run") == "on", Topics: topicChoice(r)}
	if !f.Topics.All && len(f.Topics.Slugs) == 0 {
		f.Topics = subscribers.AllTopics
	}
	file, _, err := r.FormFile("file")
	if err != nil {
		return f, bad("file", "form.err.file")
	}
	defer file.Close()
	b, err := io.ReadAll(io.LimitReader(file, MaxCSV+1))
	if err != nil || len(b) == 0 {
		return f, bad("file", "form.err.file")
	}
	if len(b) > MaxCSV {
		return f, bad("file", "form.err.toolarge")
	}
	f.Data = b
	return f, nil
}
