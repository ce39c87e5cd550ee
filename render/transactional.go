package render

// Transactional mails: the one-off messages a reader triggers (the
// double opt-in confirmation, the "you are already subscribed" note, the
// confirmation of an unsubscribe-by-mail). They are rare, so they are built
// with go-mail's Msg for correct headers rather than the issue pipeline's
// cached byte templates.

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/templates"
	"github.com/tidings/tidings/token"
)

// ConfirmKind says which transactional mail to build.
type ConfirmKind int

const (
	// Confirm asks a new (pending) reader to confirm with a single-use,
	// expiring link.
	Confirm ConfirmKind = iota
	// Manage answers a subscribe request for an address that is already
	// confirmed: no confirmation needed, here is the preference centre.
	Manage
	// Leave asks to confirm an unsubscribe request that came by mail to
	// LIST+unsubscribe@domain (anyone can forge a From line).
	Leave
)

func (k ConfirmKind) String() string {
	switch k {
	case Confirm:
		return "confirm"
	case Manage:
		return "manage"
	case Leave:
		return "leave"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// DefaultConfirmTTL is how long a confirmation link works.
const DefaultConfirmTTL = 72 * time.Hour

// ManageTTL is how long the preference link of a Manage mail works; the
// permanent preference link arrives with every issue once subscribed.
const ManageTTL = 7 * 24 * time.Hour

// ConfirmationMail builds a transactional mail of the given kind for sub on
// list (confirmation links expire after DefaultConfirmTTL). It returns the
// whole RFC 5322 message and the envelope sender (MAIL FROM).
func (r *Renderer) ConfirmationMail(list *tidings.List, topics []tidings.Topic, sub tidings.Subscriber, kind ConfirmKind) (msg []byte, from string, err error) {
	return r.ConfirmationMailTTL(list, topics, sub, kind, DefaultConfirmTTL)
}

// txStrings are the words of the mails, per language.
var txStrings = map[tidings.Lang]map[string]string{
	tidings.LangEN: {
		"subject.confirm": "Confirm your subscription to %s",
		"subject.manage":  "You are already subscribed to %s",
		"subject.leave":   "Unsubscribe from %s?",
		"hello":           "Hello",
		"greet":           "Hello,",
		"greet.name":      "Hello %s,",
		"confirm.intro":   "Please confirm that you want to receive %s at this address.",
		"confirm.topics":  "Topics you chose",
		"confirm.button":  "Confirm my subscription",
		"confirm.expires": "The link works until %s.",
		"confirm.ignore":  "If you did not ask for this, ignore this mail: you will not be subscribed and will not hear from us again.",
		"manage.intro":    "Someone, probably you, asked to subscribe this address to %s. You are already subscribed, so there is nothing to confirm.",
		"manage.topics":   "Topics you receive",
		"manage.button":   "Change topics or unsubscribe",
		"manage.expires":  "The link works until %s; every issue carries a permanent one.",
		"manage.ignore":   "If it was not you, ignore this mail: nothing has changed.",
		"leave.intro":     "We received a request by mail to unsubscribe this address from %s. To make sure it came from you, please press the button on this page:",
		"leave.button":    "Unsubscribe",
		"leave.ignore":    "If you want to keep receiving %s, ignore this mail: nothing has changed.",
		"all":             "all topics",
		"none":            "only articles for every reader",
		"sep":             ", ",
	},
	tidings.LangZH: {
		"subject.confirm": "请确认订阅《%s》",
		"subject.manage":  "您已订阅《%s》",
		"subject.leave":   "确认退订《%s》？",
		"hello":           "您好",
		"greet":           "您好：",
		"greet.name":      "%s，您好：",
		"confirm.intro":   "请确认您希望用此邮箱接收《%s》。",
		"confirm.topics":  "您选择的主题",
		"confirm.button":  "确认订阅",
		"confirm.expires": "此链接在 %s 前有效。",
		"confirm.ignore":  "如果这不是您本人的操作，请忽略本邮件：您不会被订阅，我们也不会再联系您。",
		"manage.intro":    "有人（可能是您本人）再次用此邮箱订阅了《%s》。您已是订阅者，无需再次确认。",
		"manage.topics":   "您接收的主题",
		"manage.button":   "更改主题或退订",
		"manage.expires":  "此链接在 %s 前有效；每期简报中都附有长期有效的链接。",
		"manage.ignore":   "如果这不是您本人的操作，请忽略本邮件：一切照旧。",
		"leave.intro":     "我们收到一封邮件，要求将此邮箱从《%s》退订。为确认确是您本人，请在以下页面点击按钮：",
		"leave.button":    "退订",
		"leave.ignore":    "如果您想继续接收《%s》，请忽略本邮件：一切照旧。",
		"all":             "全部主题",
		"none":            "仅面向全体读者的文章",
		"sep":             "、",
	},
}

// txData is what templates/email/confirm-mail.{txt,html} see.
type txData struct {
	Lang     string // BCP 47 tag
	Kind     string // confirm | manage | leave
	ListName string
	Name     string
	Hello    string
	Greeting string // the salutation line, in the language's own form
	Intro    string
	TopicsH  string // heading of the topic line; empty: no topic line
	Topics   string
	Button   string
	URL      string
	Expires  string
	Ignore   string
	Address  string // the list's postal address
}

// ConfirmationMailTTL is ConfirmationMail with the lifetime of a
// confirmation link chosen by the caller (web's ConfirmTTL).
func (r *Renderer) ConfirmationMailTTL(list *tidings.List, topics []tidings.Topic, sub tidings.Subscriber, kind ConfirmKind, ttl time.Duration) (msg []byte, from string, err error) {
	if r.Signer == nil {
		return nil, "", fmt.Errorf("%s mail: renderer has no token signer", kind)
	}
	if ttl <= 0 {
		ttl = DefaultConfirmTTL
	}
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	t := txStrings[list.Lang]
	if t == nil {
		t = txStrings[tidings.LangEN]
	}
	if kind == Confirm {
		// The name of a subscription nobody has confirmed yet is whatever
		// the form's (or the subscribe mail's) sender typed: putting it in
		// the greeting or the To line would let a stranger send their
		// text ("Win a prize at …") to any address through us.
		sub.Name = ""
	}
	// A name stored by an admin (a CSV cell may hold a line break) must
	// neither add a header nor make the To line unparsable.
	sub.Name = clean(sub.Name)
	d := txData{Lang: list.Lang.Tag(), Kind: kind.String(), ListName: list.Name, Name: sub.Name, Hello: t["hello"], Address: list.Address}
	d.Greeting = t["greet"]
	if sub.Name != "" {
		d.Greeting = fmt.Sprintf(t["greet.name"], sub.Name)
	}
	loc := list.Location()
	stamp := func(at time.Time) string { return at.In(loc).Format("2006-01-02 15:04 MST") }
	var subject string
	switch kind {
	case Confirm:
		exp := now().Add(ttl).Truncate(time.Second)
		tok := r.Signer.Sign(token.Claims{Purpose: token.Confirm, SubscriberID: sub.ID, ListID: list.ID, Expires: exp, Nonce: token.NewNonce()})
		subject = fmt.Sprintf(t["subject.confirm"], list.Name)
		d.Intro = fmt.Sprintf(t["confirm.intro"], list.Name)
		d.TopicsH, d.Topics = t["confirm.topics"], txTopics(t, list, topics, sub)
		d.Button, d.URL = t["confirm.button"], r.Links.Confirm(list.Slug, tok)
		d.Expires, d.Ignore = fmt.Sprintf(t["confirm.expires"], stamp(exp)), t["confirm.ignore"]
	case Manage:
		exp := now().Add(ManageTTL).Truncate(time.Second)
		tok := r.Signer.Sign(token.Claims{Purpose: token.Manage, SubscriberID: sub.ID, ListID: list.ID, Expires: exp})
		subject = fmt.Sprintf(t["subject.manage"], list.Name)
		d.Intro = fmt.Sprintf(t["manage.intro"], list.Name)
		d.TopicsH, d.Topics = t["manage.topics"], txTopics(t, list, topics, sub)
		d.Button, d.URL = t["manage.button"], r.Links.Preferences(list.Slug, tok)
		d.Expires, d.Ignore = fmt.Sprintf(t["manage.expires"], stamp(exp)), t["manage.ignore"]
	case Leave:
		tok := r.Signer.Sign(token.Claims{Purpose: token.Unsubscribe, SubscriberID: sub.ID, ListID: list.ID})
		subject = fmt.Sprintf(t["subject.leave"], list.Name)
		d.Intro = fmt.Sprintf(t["leave.intro"], list.Name)
		d.Button, d.URL = t["leave.button"], r.Links.Unsubscribe(list.Slug, tok)
		d.Ignore = fmt.Sprintf(t["leave.ignore"], list.Name)
	default:
		return nil, "", fmt.Errorf("transactional mail: unknown kind %d", int(kind))
	}

	fsys := templates.Overlay(list.TemplateDir)
	text, err := txText(fsys, "email/confirm-mail.txt", d)
	if err != nil {
		return nil, "", err
	}
	html, err := txHTML(fsys, "email/confirm-mail.html", d)
	if err != nil {
		return nil, "", err
	}

	// CJK text is a third the size in base64 of what it is in
	// quoted-printable (REFERENCE.md).
	enc := mail.EncodingQP
	if list.Lang == tidings.LangZH {
		enc = mail.EncodingB64
	}
	m := mail.NewMsg(mail.WithEncoding(enc), mail.WithCharset(mail.CharsetUTF8), mail.WithNoDefaultUserAgent())
	if err := m.From(list.From); err != nil {
		return nil, "", fmt.Errorf("%s mail: from %q: %w", kind, list.From, err)
	}
	if sub.Name != "" {
		err = m.AddToFormat(sub.Name, sub.Email)
	} else {
		err = m.AddTo(sub.Email)
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s mail: to %q: %w", kind, sub.Email, err)
	}
	if list.ReplyTo != "" {
		if err := m.ReplyTo(list.ReplyTo); err != nil {
			return nil, "", fmt.Errorf("%s mail: reply-to %q: %w", kind, list.ReplyTo, err)
		}
	}
	m.Subject(subject)
	m.SetDateWithValue(now())
	m.SetMessageIDWithValue(txRandomID() + "@" + list.Domain())
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	m.SetBodyString(mail.TypeTextPlain, text)
	m.AddAlternativeString(mail.TypeTextHTML, html)
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		return nil, "", fmt.Errorf("%s mail: %w", kind, err)
	}
	return buf.Bytes(), list.FromAddress(), nil
}

// txTopics names the topics sub has on list, in the list's order.
func txTopics(t map[string]string, list *tidings.List, topics []tidings.Topic, sub tidings.Subscriber) string {
	for _, ss := range sub.Subscriptions {
		if ss.ListID != list.ID {
			continue
		}
		if ss.AllTopics {
			return t["all"]
		}
		chosen := map[string]bool{}
		for _, s := range ss.Topics {
			chosen[s] = true
		}
		var names []string
		for _, tp := range topics {
			if chosen[tp.Slug] {
				names = append(names, tp.Name)
			}
		}
		if len(names) == 0 {
			return t["none"]
		}
		return strings.Join(names, t["sep"])
	}
	return ""
}

func txRandomID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

// executor is what text/template and html/template have in common.
type executor interface {
	Execute(w io.Writer, data any) error
}

func txText(fsys fs.FS, name string, d txData) (string, error) {
	return txExecute(fsys, name, d, func(src string) (executor, error) {
		t, err := texttemplate.New(name).Parse(src)
		return t, err
	})
}

// txHTML escapes every value for HTML (html/template).
func txHTML(fsys fs.FS, name string, d txData) (string, error) {
	return txExecute(fsys, name, d, func(src string) (executor, error) {
		t, err := htmltemplate.New(name).Parse(src)
		return t, err
	})
}

func txExecute(fsys fs.FS, name string, d txData, parse func(src string) (executor, error)) (string, error) {
	src, err := fs.ReadFile(fsys, name)
	if err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	tpl, err := parse(string(src))
	if err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	var b strings.Builder
	if err := tpl.Execute(&b, d); err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	return b.String(), nil
}
