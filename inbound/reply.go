package inbound

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"unicode"

	"github.com/tidings/tidings"
)

// reply handles LIST+subscribe@ and LIST+unsubscribe@: both answer with
// a confirmation mail, because From can be forged. Answering is where mail
// loops start, so every robot's mail is refused an answer first.
func (p *Processor) reply(ctx context.Context, t target, m *message, env Envelope) (Result, error) {
	action := ActionSubscribe
	if t.kind == addrLeave {
		action = ActionLeave
	}
	if dup, err := p.seen(ctx, env.Key); err != nil {
		return Result{}, err
	} else if dup {
		return duplicate(), nil
	}
	lists, err := p.allLists(ctx)
	if err != nil {
		return Result{}, err
	}
	if why := noReply(lists, m); why != "" {
		return p.ignore(ctx, env.Key, "no answer: "+why)
	}
	if p.cfg.Confirmer == nil || p.cfg.Sender == nil {
		return p.ignore(ctx, env.Key, "no answer: answering is not configured")
	}
	email, err := tidings.ParseEmail(m.from)
	if err != nil {
		return p.ignore(ctx, env.Key, "no answer: "+err.Error())
	}
	list := t.list
	var topics []string
	if action == ActionSubscribe {
		all, err := p.cfg.Directory.Topics(ctx, list.ID)
		if err != nil {
			return Result{}, err
		}
		topics = matchTopics(m.subject, all)
	}
	if !p.takeReply(email.Key) {
		return p.ignore(ctx, env.Key, "no answer: rate limit for "+email.Key)
	}
	var msg []byte
	var from string
	if action == ActionSubscribe {
		msg, from, err = p.cfg.Confirmer.SubscribeMail(ctx, &list, email.Addr, m.fromName, topics)
	} else {
		msg, from, err = p.cfg.Confirmer.LeaveMail(ctx, &list, email.Addr)
	}
	if err != nil {
		p.giveBackReply(email.Key)
		if errors.Is(err, ErrNotSubscribed) {
			return p.ignore(ctx, env.Key, "no answer: "+email.Addr+" is not on the list")
		}
		// A refusal (blocked reader, bad address) will not change on a
		// retry: log it and drop the message rather than loop on it.
		p.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "inbound request refused", slog.String("list", list.Slug),
			slog.String("email", email.Addr), slog.String("error", err.Error()))
		return p.ignore(ctx, env.Key, "no answer: "+err.Error())
	}
	if msg == nil {
		p.giveBackReply(email.Key)
		return p.ignore(ctx, env.Key, "no answer: "+email.Addr+" is bounced or blocked on the list")
	}
	if err := p.cfg.Sender.SendMail(ctx, from, []string{email.Addr}, msg); err != nil {
		p.giveBackReply(email.Key)
		return Result{}, err
	}
	// Recorded after sending: a crash in between answers twice (the rate
	// limit bounds it) rather than never.
	if _, err := p.commit(ctx, env.Key, nil); err != nil {
		return Result{}, err
	}
	res := Result{Action: action, ListID: list.ID, Replied: true}
	if action == ActionSubscribe {
		res.Reason = "topics: all"
		if topics != nil {
			res.Reason = "topics: " + strings.Join(topics, ",")
		}
	}
	return res, nil
}

// noReply says why m must not be answered, or "".
func noReply(lists []tidings.List, m *message) string {
	switch {
	case m.nullSender:
		return "null envelope sender (a bounce)"
	case m.isReport():
		return "a delivery or feedback report"
	case m.from == "":
		return "no From address"
	case isDaemon(m.from) || isDaemon(m.envFrom):
		return "from a mailer daemon"
	case isOwnAddress(lists, m.from) || m.envFrom != "" && isOwnAddress(lists, m.envFrom):
		return "from one of the lists' own addresses (loop)"
	}
	if why := autoReply(m); why != "" {
		return "auto-reply (" + why + ")"
	}
	if why := bulk(m); why != "" {
		return "bulk or list mail (" + why + ")"
	}
	return ""
}

// takeReply counts an answer to key against the rate limit, or refuses.
func (p *Processor) takeReply(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.Now()
	cut := now.Add(-p.cfg.ReplyWindow)
	kept := p.replies[key][:0]
	for _, t := range p.replies[key] {
		if t.After(cut) {
			kept = append(kept, t)
		}
	}
	if len(kept) >= p.cfg.ReplyLimit {
		p.replies[key] = kept
		return false
	}
	p.replies[key] = append(kept, now)
	// Forget idle addresses now and then so the map stays small.
	if len(p.replies) > 10000 {
		for k, ts := range p.replies {
			if len(ts) == 0 || !ts[len(ts)-1].After(cut) {
				delete(p.replies, k)
			}
		}
	}
	return true
}

func (p *Processor) giveBackReply(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if ts := p.replies[key]; len(ts) > 0 {
		p.replies[key] = ts[:len(ts)-1]
	}
}

// matchTopics picks the topics named in a subject line by slug or name:
// "subscribe biomed", "订阅 养老科技 生物医药", or "订阅养老科技" (Chinese
// writes no spaces, so non-ASCII names match as substrings). None named
// gives nil: all topics.
func matchTopics(subject string, topics []tidings.Topic) []string {
	s := strings.ToLower(subject)
	words := strings.FieldsFunc(s, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-')
	})
	set := map[string]bool{}
	for _, w := range words {
		set[w] = true
	}
	joined := " " + strings.Join(words, " ") + " "
	var out []string
	for _, t := range topics {
		name := strings.ToLower(strings.TrimSpace(t.Name))
		hit := set[t.Slug]
		switch {
		case hit || name == "":
		case isASCII(name):
			hit = strings.Contains(joined, " "+strings.Join(strings.FieldsFunc(name, func(r rune) bool {
				return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-')
			}), " ")+" ")
		default:
			hit = strings.Contains(s, name)
		}
		if hit {
			out = append(out, t.Slug)
		}
	}
	return out
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
