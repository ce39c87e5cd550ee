package ops

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"slices"
	"strconv"
	"strings"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/render"
	"github.com/tidings/tidings/subscribers"
)

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
	List     string         // the issue's list (slug)
	Email    string         // the reader previewed; "" for a topic set
	Status   tidings.Status // the reader's status on the list ("" for a topic set)
	Topics   []string       // the topic set the preview was made for
	Articles []int          // positions the mail holds
}

// previewAddress stands in for the reader's address in a topic-set
// preview: the mail names its reader in the footer.
const previewAddress = "reader@example.org"

// maxTestRecipients bounds one request for test copies.
const maxTestRecipients = 10

// Preview renders the issue as one reader or one topic set would get it,
// through the same edition send composes with.
func (s *Service) Preview(ctx context.Context, a tidings.Actor, issueID int64, p PreviewFor) (*Preview, error) {
	if _, err := s.issueListID(ctx, a, issueID, PermEdit); err != nil {
		return nil, err
	}
	email := strings.TrimSpace(p.Email)
	switch {
	case email == "" && len(p.Topics) == 0:
		return nil, Invalid("email", "give a reader's address, or topics to preview as")
	case email != "" && len(p.Topics) > 0:
		return nil, Invalid("topics", "give a reader's address or topics, not both")
	}
	e, err := s.campaigns().prepare(ctx, issueID)
	if err != nil {
		return nil, storeErr(err, "")
	}
	out := &Preview{Subject: e.ed.Subject(), List: e.list.Slug}
	var rc tidings.Recipient
	opts := render.MessageOptions{}
	field := "email"
	if email != "" {
		var st tidings.Status
		if rc, st, err = s.readerOn(ctx, a, e.list, email, "email"); err != nil {
			return nil, err
		}
		out.Email, out.Status = rc.Email, st
		out.Topics = []string{"all"}
		if !rc.AllTopics {
			out.Topics = append([]string{}, rc.Topics...)
			slices.Sort(out.Topics)
		}
	} else {
		field = "topics"
		if rc, err = topicSetReader(e.topics, p.Topics); err != nil {
			return nil, err
		}
		rc.Email = previewAddress
		out.Topics = []string{rc.TopicKey()}
		if !rc.AllTopics {
			out.Topics = rc.Topics
		}
	}
	for i := range e.issue.Articles {
		if rc.Receives(e.issue.Articles[i].Topics) {
			out.Articles = append(out.Articles, e.issue.Articles[i].Position)
		}
	}
	var eml bytes.Buffer
	if _, err := e.ed.WriteMessage(&eml, rc, opts); err != nil {
		if errors.Is(err, render.ErrNoArticles) {
			return nil, Invalid(field, "%s gets no article of issue %d (topics: %s), so sending skips them", whose(rc, email), issueID, rc.TopicKey())
		}
		return nil, fmt.Errorf("preview of issue %d: %w", issueID, err)
	}
	// The parts come out of the message itself, so that they are exactly
	// what it carries (per-message tokens included).
	if out.Text, out.HTML, err = decodeParts(eml.Bytes()); err != nil {
		return nil, fmt.Errorf("preview of issue %d: %w", issueID, err)
	}
	out.EML = eml.Bytes()
	return out, nil
}

func whose(rc tidings.Recipient, email string) string {
	if email != "" {
		return rc.Email
	}
	return "a reader of these topics"
}

// topicSetReader is a reader of the given topics: ["all"] for every topic,
// [] (or ["none"]) for none. Unknown slugs are a FieldError on "topics".
func topicSetReader(topics []tidings.Topic, slugs []string) (tidings.Recipient, error) {
	rc := tidings.Recipient{Topics: []string{}}
	var known []string
	for _, t := range topics {
		known = append(known, t.Slug)
	}
	for _, sl := range slugs {
		sl = strings.ToLower(strings.TrimSpace(sl))
		switch {
		case sl == "" || sl == "none":
		case sl == "all":
			rc.AllTopics = true
		case slices.Contains(known, sl):
			if !slices.Contains(rc.Topics, sl) {
				rc.Topics = append(rc.Topics, sl)
			}
		default:
			return rc, Invalid("topics", "unknown topic %q (known: %s)", sl, strings.Join(known, ", "))
		}
	}
	if rc.AllTopics {
		rc.Topics = nil
	}
	slices.Sort(rc.Topics)
	return rc, nil
}

// readerOn is the subscriber with address email on list l as a Recipient,
// with their status there. A preview or test copy must be a message that
// could really be sent, so anyone not on the list is refused: for an
// actor of every list as bad input on field; for an actor limited to some
// lists as ErrNotFound whether or not the address is on another list, so
// that the answer says nothing about lists they may not see.
func (s *Service) readerOn(ctx context.Context, a tidings.Actor, l *tidings.List, email, field string) (tidings.Recipient, tidings.Status, error) {
	addr, err := tidings.ParseEmail(email)
	if err != nil {
		return tidings.Recipient{}, "", Invalid(field, "%v", err)
	}
	notOn := func() error {
		msg := fmt.Sprintf("%s is not a subscriber of list %s (see tidings sub ls --list %s)", addr.Addr, l.Slug, l.Slug)
		if !a.AllLists {
			return as(ErrNotFound, errors.New(msg))
		}
		return Invalid(field, "%s", msg)
	}
	p, err := subscribers.NewStore(s.d).Get(ctx, addr.Addr)
	if errors.Is(err, subscribers.ErrNotFound) {
		return tidings.Recipient{}, "", notOn()
	}
	if err != nil {
		return tidings.Recipient{}, "", err
	}
	for _, sub := range p.Subscriptions {
		if sub.ListID == l.ID {
			rc := tidings.Recipient{SubscriberID: p.ID, Email: p.Email, Name: p.Name, AllTopics: sub.AllTopics}
			if !sub.AllTopics {
				rc.Topics = sub.Topics
				if rc.Topics == nil {
					rc.Topics = []string{}
				}
			}
			return rc, sub.Status, nil
		}
	}
	return tidings.Recipient{}, "", notOn()
}

// campaigns is the service's own Campaigns, on its database, links and
// clock.
func (s *Service) campaigns() campaigns {
	return campaigns{d: s.d, links: s.deps.Links, now: s.now}
}

// SendTest sends a marked test copy to each address in to, composed as
// the reader asEmail would get it ("" = every topic). It returns the
// Message-IDs. Test copies are not in the delivery log.
func (s *Service) SendTest(ctx context.Context, a tidings.Actor, issueID int64, to []string, asEmail string) ([]string, error) {
	listID, err := s.issueListID(ctx, a, issueID, PermEdit)
	if err != nil {
		return nil, err
	}
	if len(to) == 0 {
		return nil, Invalid("to", "give at least one address to send the test copy to")
	}
	if len(to) > maxTestRecipients {
		return nil, Invalid("to", "%d addresses: at most %d test copies at a time", len(to), maxTestRecipients)
	}
	var addrs []string
	for _, t := range to {
		e, err := tidings.ParseEmail(t)
		if err != nil {
			return nil, Invalid("to", "%v", err)
		}
		if !slices.Contains(addrs, e.Addr) {
			addrs = append(addrs, e.Addr)
		}
	}
	var rc *tidings.Recipient
	detail := map[string]any{"to": addrs}
	if strings.TrimSpace(asEmail) != "" {
		l, err := subscribers.NewStore(s.d).ListByID(ctx, listID)
		if err != nil {
			return nil, storeErr(err, "")
		}
		r, _, err := s.readerOn(ctx, a, l, asEmail, "as")
		if err != nil {
			return nil, err
		}
		rc = &r
		detail["as_subscriber"] = r.SubscriberID
	}
	if s.deps.Mail == nil {
		return nil, fmt.Errorf("test copies need an SMTP relay (--smtp-url or TIDINGS_SMTP_URL): %w", ErrUnavailable)
	}
	var ids []string
	for _, addr := range addrs {
		id, err := s.deps.Mail.SendTest(ctx, issueID, addr, rc)
		if err != nil {
			if len(ids) > 0 {
				detail["sent"] = ids
				_ = s.audit(ctx, a, auditEntry{Action: "issue.test", ObjectKind: "issue", ObjectID: strconv.FormatInt(issueID, 10), ListID: listID, Detail: detail})
			}
			return ids, storeErr(fmt.Errorf("test copy to %s: %w", addr, err), "")
		}
		ids = append(ids, id)
	}
	detail["sent"] = ids
	return ids, s.audit(ctx, a, auditEntry{Action: "issue.test", ObjectKind: "issue", ObjectID: strconv.FormatInt(issueID, 10), ListID: listID, Detail: detail})
}

// decodeParts reads the text/plain and text/html parts of a message.
func decodeParts(msg []byte) (text, html string, err error) {
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		return "", "", fmt.Errorf("read message: %w", err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") {
		return "", "", fmt.Errorf("read message: content type %q", m.Header.Get("Content-Type"))
	}
	r := multipart.NewReader(m.Body, params["boundary"])
	for {
		part, err := r.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return "", "", fmt.Errorf("read message: %w", err)
		}
		var body io.Reader = part
		if strings.EqualFold(part.Header.Get("Content-Transfer-Encoding"), "base64") {
			body = base64.NewDecoder(base64.StdEncoding, part)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			return "", "", fmt.Errorf("read message part: %w", err)
		}
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			text = string(b)
		case "text/html":
			html = string(b)
		}
	}
	return text, html, nil
}
