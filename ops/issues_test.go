package ops

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/issues"
)

// TestImportIssueBadInput: a parse error is bad input on "source" whose
// problem starts with its line; the store's message (FILE:LINE) stays the
// error's text; nothing is stored. Importing the same number again is a
// conflict, unless replacing a draft.
func TestImportIssueBadInput(t *testing.T) {
	e := newBulletinEnv(t, nil)
	before := e.one(t, `SELECT count(*) FROM issues`)
	for _, c := range []struct {
		src, line string
	}{
		{"---\ntitle: T\nnumber: 9\n---\n\n## A {topics=quantum}\n\nx\n", "line 6: "},
		{"# T\n\nNo. 9\n\n## caf\xe9\n", "line 5: "},
	} {
		_, err := e.s.ImportIssue(e.ctx, e.editor, "keji", "bad.md", []byte(c.src), false)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "source" || !strings.HasPrefix(fe.Problem, c.line) {
			t.Errorf("import %q: err = %v (%#v), want a FieldError on source starting %q", c.src, err, fe, c.line)
			continue
		}
		if !errors.Is(err, ErrInvalid) || !errors.Is(err, issues.ErrParse) && !errors.Is(err, issues.ErrUnknownTopic) {
			t.Errorf("import %q: %v does not match ErrInvalid and the store's error", c.src, err)
		}
		if !strings.HasPrefix(err.Error(), "bad.md:") {
			t.Errorf("message %q: want the store's FILE:LINE form", err)
		}
	}
	if got := e.one(t, `SELECT count(*) FROM issues`); got != before {
		t.Errorf("bad imports stored issues: %s → %s", before, got)
	}
	src, _ := os.ReadFile(sampleBulletin)
	if _, err := e.s.ImportIssue(e.ctx, e.editor, "keji", "again.md", src, false); !errors.Is(err, ErrConflict) || !errors.Is(err, issues.ErrExists) {
		t.Errorf("same number again: err = %v, want ErrConflict", err)
	}
	is, err := e.s.ImportIssue(e.ctx, e.editor, "keji", "again.md", src, true)
	if err != nil || is.ID != e.issue.ID {
		t.Errorf("replace a draft: %v, %v", is, err)
	}
	if _, err := e.s.ImportIssue(e.ctx, e.outer, "keji", "x.md", src, true); !errors.Is(err, ErrForbidden) {
		t.Errorf("editor of another list imports: %v", err)
	}
	if _, err := e.s.ImportIssue(e.ctx, e.editor, "nosuch", "x.md", src, false); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown list: %v", err)
	}
}

// TestUpdateArticle: title and topics change in place, by hand, with an
// audit entry; every bad input names its field and changes nothing.
func TestUpdateArticle(t *testing.T) {
	e := newBulletinEnv(t, nil)
	id := e.issue.ID
	audits := len(e.actions(t))
	orig := e.issue.Articles[1]
	for _, c := range []struct {
		name  string
		pos   int
		ch    ArticleChange
		field string
	}{
		{"no such position", 9, ArticleChange{Title: ptr("x")}, "position"},
		{"position zero", 0, ArticleChange{Title: ptr("x")}, "position"},
		{"unknown topic", 2, ArticleChange{Title: ptr("新"), Topics: &[]string{"biomed", "sport"}}, "topics"},
		{"empty title", 2, ArticleChange{Title: ptr("  "), Topics: &[]string{"biomed"}}, "title"},
		{"two-line title", 2, ArticleChange{Title: ptr("a\nb")}, "title"},
		{"nothing", 2, ArticleChange{}, "topics"},
	} {
		_, err := e.s.UpdateArticle(e.ctx, e.editor, id, c.pos, c.ch)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: err = %v, want a FieldError on %s", c.name, err, c.field)
		}
	}
	d, err := e.s.Issue(e.ctx, e.editor, id)
	if err != nil {
		t.Fatal(err)
	}
	if a := d.Issue.Articles[1]; a.Title != orig.Title || !slices.Equal(a.Topics, orig.Topics) || a.TaggedBy != orig.TaggedBy {
		t.Errorf("bad input changed article 2: %+v, was %+v", a, orig)
	}
	if n := len(e.actions(t)); n != audits {
		t.Errorf("bad input wrote %d audit entries", n-audits)
	}

	a, err := e.s.UpdateArticle(e.ctx, e.editor, id, 2, ArticleChange{Title: ptr(" 南京生物医药 "), Topics: &[]string{"Finance", "biomed", "finance"}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Title != "南京生物医药" || !slices.Equal(a.Topics, []string{"biomed", "finance"}) || a.TaggedBy != tidings.TaggedByHand {
		t.Errorf("article 2 = %+v", a)
	}
	if d := e.one(t, `SELECT detail FROM audit_log WHERE action = 'article.update'`); !strings.Contains(d, "南京生物医药") || !strings.Contains(d, `"topics":["finance","biomed"]`) {
		t.Errorf("audit detail %s", d)
	}
	// Retag leaves hand-tagged articles alone.
	if _, err := e.s.Retag(e.ctx, e.editor, id); err != nil {
		t.Fatal(err)
	}
	d, _ = e.s.Issue(e.ctx, e.editor, id)
	if got := d.Issue.Articles[1].Topics; !slices.Equal(got, []string{"biomed", "finance"}) {
		t.Errorf("retag changed a hand-tagged article: %v", got)
	}
	if !strings.Contains(d.Subject, "科技情报参考") && d.Subject == "" {
		t.Errorf("subject %q", d.Subject)
	}
	acts := e.actions(t)
	if !slices.Equal(acts[len(acts)-2:], []string{"article.update", "issue.retag"}) || acts[0] != "issue.import" {
		t.Errorf("audit %v", acts)
	}
}

// TestIssueOfASendingIssueIsFrozen: once sending, articles, tags and
// schedules refuse changes with ErrConflict.
func TestIssueOfASendingIssueIsFrozen(t *testing.T) {
	e := newBulletinEnv(t, nil)
	id := e.issue.ID
	if _, err := e.s.SendNow(e.ctx, e.editor, id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.UpdateArticle(e.ctx, e.editor, id, 1, ArticleChange{Topics: &[]string{}}); !errors.Is(err, ErrConflict) {
		t.Errorf("update: %v", err)
	}
	if _, err := e.s.Retag(e.ctx, e.editor, id); !errors.Is(err, ErrConflict) {
		t.Errorf("retag: %v", err)
	}
	if err := e.s.MarkReady(e.ctx, e.editor, id); !errors.Is(err, ErrConflict) {
		t.Errorf("ready: %v", err)
	}
	if _, err := e.s.Schedule(e.ctx, e.editor, id, "+1h", ""); !errors.Is(err, ErrConflict) {
		t.Errorf("schedule: %v", err)
	}
}

// TestIssueOpsCheckRolesAndLists: every operation on an issue lets the
// admin and the list's editor through and refuses the editor of another
// list with ErrForbidden; an unknown issue is ErrNotFound.
func TestIssueOpsCheckRolesAndLists(t *testing.T) {
	e := newBulletinEnv(t, nil)
	id := e.issue.ID
	ops := map[string]func(a tidings.Actor, id int64) error{
		"Issue":    func(a tidings.Actor, id int64) error { _, err := e.s.Issue(e.ctx, a, id); return err },
		"Audience": func(a tidings.Actor, id int64) error { _, err := e.s.Audience(e.ctx, a, id); return err },
		"Preview": func(a tidings.Actor, id int64) error {
			_, err := e.s.Preview(e.ctx, a, id, PreviewFor{Topics: []string{"all"}})
			return err
		},
		"UpdateArticle": func(a tidings.Actor, id int64) error {
			_, err := e.s.UpdateArticle(e.ctx, a, id, 1, ArticleChange{Title: ptr("T")})
			return err
		},
		"Retag":     func(a tidings.Actor, id int64) error { _, err := e.s.Retag(e.ctx, a, id); return err },
		"MarkReady": func(a tidings.Actor, id int64) error { return e.s.MarkReady(e.ctx, a, id) },
		"Status":    func(a tidings.Actor, id int64) error { _, err := e.s.Status(e.ctx, a, id, 5); return err },
		"SendTest": func(a tidings.Actor, id int64) error {
			_, err := e.s.SendTest(e.ctx, a, id, []string{"ed@example.org"}, "")
			if errors.Is(err, ErrUnavailable) { // no relay here: past the checks
				return nil
			}
			return err
		},
		"PauseSend": func(a tidings.Actor, id int64) error {
			if err := e.s.PauseSend(e.ctx, a, id); !errors.Is(err, ErrConflict) { // a draft: past the checks
				return err
			}
			return nil
		},
		"CancelSend": func(a tidings.Actor, id int64) error {
			if err := e.s.CancelSend(e.ctx, a, id); !errors.Is(err, ErrConflict) {
				return err
			}
			return nil
		},
		"ResumeSend": func(a tidings.Actor, id int64) error {
			if err := e.s.ResumeSend(e.ctx, a, id); !errors.Is(err, ErrConflict) {
				return err
			}
			return nil
		},
	}
	for name, op := range ops {
		for _, a := range []tidings.Actor{e.admin, e.editor} {
			if err := op(a, id); err != nil {
				t.Errorf("%s as %s: %v", name, a, err)
			}
		}
		if err := op(e.outer, id); !errors.Is(err, ErrForbidden) {
			t.Errorf("%s as the editor of another list: err = %v, want ErrForbidden", name, err)
		}
		if err := op(e.admin, 999); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s of issue 999: err = %v, want ErrNotFound", name, err)
		}
		if err := op(tidings.Actor{Kind: tidings.ActorToken, Name: "norole", AllLists: true}, id); !errors.Is(err, ErrForbidden) {
			t.Errorf("%s without a role: err = %v, want ErrForbidden", name, err)
		}
	}
	if _, err := e.s.Issues(e.ctx, e.outer, "keji"); !errors.Is(err, ErrForbidden) {
		t.Errorf("Issues of keji as the editor of other: %v", err)
	}
	if all, err := e.s.Issues(e.ctx, e.editor, "keji"); err != nil || len(all) != 1 {
		t.Errorf("Issues of keji: %v, %v", all, err)
	}
}

// TestListLeftOutIsTheActorsOnlyList: an editor of one list of several
// may leave the list out (it is theirs, as on the console), for issues and
// schedules alike; whoever may see several lists must name one.
func TestListLeftOutIsTheActorsOnlyList(t *testing.T) {
	e := newBulletinEnv(t, nil)
	if all, err := e.s.Issues(e.ctx, e.editor, ""); err != nil || len(all) != 1 || all[0].ListID != e.keji.ID {
		t.Errorf("Issues of the editor's only list: %v, %v", all, err)
	}
	if all, err := e.s.Issues(e.ctx, e.outer, ""); err != nil || len(all) != 0 {
		t.Errorf("Issues of other's editor: %v, %v (want none of keji's)", all, err)
	}
	if sc, err := e.s.AddRecurring(e.ctx, e.outer, "", "0 8 * * 1", ""); err != nil || sc.ListID != e.other.ID {
		t.Errorf("AddRecurring on the editor's only list: %v, %v", sc, err)
	}
	_, err := e.s.Issues(e.ctx, e.admin, "")
	bulletinField(t, err, "list")
	two := tidings.Actor{Kind: tidings.ActorUser, Name: "x@example.org", Role: tidings.RoleEditor, Lists: []int64{e.keji.ID, e.other.ID}}
	_, err = e.s.Issues(e.ctx, two, "")
	bulletinField(t, err, "list")
}
