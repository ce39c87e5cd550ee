package ops

import (
	"errors"
	"mime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/smtpsink"
)

// TestPreviewAsTwoReadersDiffersByTheirArticles: the ageing reader's
// mail holds article 1 only, the biomed reader's article 2 (and 4, which
// no keyword tags, for everyone): each preview shows exactly its titles.
func TestPreviewAsTwoReadersDiffersByTheirArticles(t *testing.T) {
	e := newBulletinEnv(t, nil)
	id := e.issue.ID
	title := func(pos int) string { return e.issue.Articles[pos-1].Title }
	ageing, err := e.s.Preview(e.ctx, e.editor, id, PreviewFor{Email: "ageing@example.cn"})
	if err != nil {
		t.Fatal(err)
	}
	biomed, err := e.s.Preview(e.ctx, e.editor, id, PreviewFor{Email: "BIOMED@example.cn"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		p    *Preview
		want []int
	}{{ageing, []int{1, 4}}, {biomed, []int{2, 4}}} {
		if !slices.Equal(c.p.Articles, c.want) {
			t.Errorf("%s: articles %v, want %v", c.p.Email, c.p.Articles, c.want)
		}
		for pos := 1; pos <= len(e.issue.Articles); pos++ {
			// The title's first words: the HTML may escape the rest.
			head := []rune(title(pos))[:8]
			in := strings.Contains(c.p.Text, string(head))
			if in != slices.Contains(c.want, pos) {
				t.Errorf("%s: text part holds article %d = %v, want %v", c.p.Email, pos, in, !in)
			}
		}
		if c.p.Status != "confirmed" || c.p.List != "keji" || c.p.Subject == "" || !strings.Contains(c.p.HTML, "<html") {
			t.Errorf("%s: status %q list %q subject %q html %d bytes", c.p.Email, c.p.Status, c.p.List, c.p.Subject, len(c.p.HTML))
		}
		if !strings.Contains(string(c.p.EML), "To: "+c.p.Email) && !strings.Contains(string(c.p.EML), "<"+c.p.Email+">") {
			t.Errorf("%s: eml not addressed to the reader:\n%.400s", c.p.Email, c.p.EML)
		}
	}
	if !slices.Equal(biomed.Topics, []string{"biomed"}) || !slices.Equal(ageing.Topics, []string{"ageing"}) {
		t.Errorf("topics %v and %v", ageing.Topics, biomed.Topics)
	}
}

// TestPreviewAsTopicSet: a set of topics previews what its readers get;
// "all" is every article.
func TestPreviewAsTopicSet(t *testing.T) {
	e := newBulletinEnv(t, nil)
	id := e.issue.ID
	all, err := e.s.Preview(e.ctx, e.editor, id, PreviewFor{Topics: []string{"all"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Articles) != len(e.issue.Articles) || all.Email != "" || !slices.Equal(all.Topics, []string{"all"}) {
		t.Errorf("all: articles %v email %q topics %v", all.Articles, all.Email, all.Topics)
	}
	mixed, err := e.s.Preview(e.ctx, e.editor, id, PreviewFor{Topics: []string{"finance", " Ageing "}})
	if err != nil {
		t.Fatal(err)
	}
	reader, err := e.s.Preview(e.ctx, e.editor, id, PreviewFor{Email: "mixed@example.cn"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(mixed.Articles, reader.Articles) || !slices.Equal(mixed.Topics, []string{"ageing", "finance"}) {
		t.Errorf("topics ageing,finance: articles %v topics %v; the reader of those topics gets %v", mixed.Articles, mixed.Topics, reader.Articles)
	}
	if mixed.HTML == reader.HTML {
		t.Error("a topic-set preview carries the reader's own address and links")
	}
}

// TestPreviewBadInput: each bad input names its field; readers of other
// lists are not found for an editor limited to some lists, whatever they
// are elsewhere.
func TestPreviewBadInput(t *testing.T) {
	e := newBulletinEnv(t, nil)
	id := e.issue.ID
	// Every article with a topic: readers of none get nothing.
	biomed := []string{"biomed"}
	if _, err := e.s.UpdateArticle(e.ctx, e.editor, id, 4, ArticleChange{Topics: &biomed}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		p     PreviewFor
		field string
	}{
		{"nothing", PreviewFor{}, "email"},
		{"both", PreviewFor{Email: "all@example.cn", Topics: []string{"all"}}, "topics"},
		{"unknown topic", PreviewFor{Topics: []string{"sport"}}, "topics"},
		{"bad address", PreviewFor{Email: "not-an-address"}, "email"},
		{"not on the list", PreviewFor{Email: "outsider@example.org"}, "email"},
		{"nobody", PreviewFor{Email: "nobody@example.org"}, "email"},
		{"topic set with nothing", PreviewFor{Topics: []string{"none"}}, "topics"},
		{"reader with nothing", PreviewFor{Email: "none@example.cn"}, "email"},
	} {
		_, err := e.s.Preview(e.ctx, e.admin, id, c.p)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: err = %v, want a FieldError on %s", c.name, err, c.field)
		}
	}
	// The editor of keji: a reader of the other list and an unknown
	// address look the same.
	for _, addr := range []string{"outsider@example.org", "nobody@example.org"} {
		if _, err := e.s.Preview(e.ctx, e.editor, id, PreviewFor{Email: addr}); !errors.Is(err, ErrNotFound) {
			t.Errorf("editor previews %s: err = %v, want ErrNotFound", addr, err)
		}
	}
	if _, err := e.s.Preview(e.ctx, e.outer, id, PreviewFor{Topics: []string{"all"}}); !errors.Is(err, ErrForbidden) {
		t.Errorf("editor of another list: err = %v, want ErrForbidden", err)
	}
	if _, err := e.s.Preview(e.ctx, e.admin, 999, PreviewFor{Topics: []string{"all"}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("no such issue: err = %v, want ErrNotFound", err)
	}
}

// TestSendTestArrivesMarked: test copies reach each address through a
// real SMTP server, marked as tests in the subject, composed as the
// chosen reader's mail; bad addresses send nothing; without a relay the
// operation is unavailable.
func TestSendTestArrivesMarked(t *testing.T) {
	sink := bulletinSink(t, smtpsink.Options{})
	e := newBulletinEnv(t, nil)
	e.s.deps.Mail = e.engine(t, sink)
	id := e.issue.ID

	_, err := e.s.SendTest(e.ctx, e.editor, id, []string{"ed@example.org", "not an address"}, "")
	bulletinField(t, err, "to")
	_, err = e.s.SendTest(e.ctx, e.editor, id, nil, "")
	bulletinField(t, err, "to")
	_, err = e.s.SendTest(e.ctx, e.editor, id, []string{"ed@example.org"}, "outsider@example.org")
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("as a reader of another list: err = %v, want ErrNotFound", err)
	}
	_, err = e.s.SendTest(e.ctx, e.admin, id, []string{"ed@example.org"}, "outsider@example.org")
	bulletinField(t, err, "as")
	if _, err := e.s.SendTest(e.ctx, e.outer, id, []string{"ed@example.org"}, ""); !errors.Is(err, ErrForbidden) {
		t.Errorf("editor of another list: err = %v, want ErrForbidden", err)
	}
	if sink.Count() != 0 {
		t.Fatalf("bad requests sent %d messages", sink.Count())
	}

	ids, err := e.s.SendTest(e.ctx, e.editor, id, []string{"ed@example.org", "Chief@Example.ORG"}, "ageing@example.cn")
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || !sink.Wait(2, 5*time.Second) {
		t.Fatalf("ids %v, sink has %d messages", ids, sink.Count())
	}
	var to []string
	for _, m := range sink.Messages() {
		to = append(to, m.To...)
		subj := header(string(m.Data), "Subject")
		dec, err := new(mime.WordDecoder).DecodeHeader(subj)
		if err != nil || !strings.HasPrefix(dec, "[测试] ") {
			t.Errorf("subject %q (%q): want the test mark", dec, subj)
		}
	}
	slices.Sort(to)
	if !slices.Equal(to, []string{"Chief@example.org", "ed@example.org"}) {
		t.Errorf("recipients %v", to)
	}
	if n := e.one(t, `SELECT count(*) FROM deliveries`); n != "0" {
		t.Errorf("test copies wrote %s delivery rows", n)
	}
	acts := e.actions(t)
	if acts[len(acts)-1] != "issue.test" {
		t.Errorf("audit actions %v, want issue.test last", acts)
	}
	if d := e.one(t, `SELECT detail FROM audit_log WHERE action = 'issue.test'`); strings.Contains(d, "ageing@example.cn") {
		t.Errorf("audit detail names the reader by address: %s", d)
	}

	e.s.deps.Mail = nil
	if _, err := e.s.SendTest(e.ctx, e.editor, id, []string{"ed@example.org"}, ""); !errors.Is(err, ErrUnavailable) {
		t.Errorf("no relay: err = %v, want ErrUnavailable", err)
	}
}

// header is one header's raw value (first occurrence, unfolded).
func header(msg, name string) string {
	hdr, _, _ := strings.Cut(msg, "\r\n\r\n")
	lines := strings.Split(hdr, "\r\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.ToLower(l), strings.ToLower(name)+":") {
			v := strings.TrimSpace(l[len(name)+1:])
			for j := i + 1; j < len(lines) && (strings.HasPrefix(lines[j], " ") || strings.HasPrefix(lines[j], "\t")); j++ {
				v += " " + strings.TrimSpace(lines[j])
			}
			return v
		}
	}
	return ""
}
