package console

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tidings/tidings"
)

// Every key a template or an action uses is in the catalog, in both
// languages; keys built with printf are checked for each value they take.
func TestTextsComplete(t *testing.T) {
	used := map[string]bool{}
	tplKey := regexp.MustCompile(`\.T "([a-z0-9.]+)"`)
	goKey := regexp.MustCompile(`(?:h\.t\(r, |c\.text\(|fail\([^,]+, [^,]+, [^,]+, |Key: |bad\("[a-z_]+", |\{)"((?:err|form|nav|tab|signin|link|password|home|issues?|import|preview|send|progress|subs?|subimport|job|topics|lists?|schedules|bounces|users|tokens|audit)\.[a-z0-9.]+)"`)
	fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if d.IsDir() || strings.HasPrefix(filepath.Base(p), "report") {
			return nil
		}
		b, _ := fs.ReadFile(templateFS, p)
		for _, m := range tplKey.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
		return nil
	})
	files, _ := filepath.Glob("*.go")
	forms, _ := filepath.Glob("form/*.go")
	for _, f := range append(files, forms...) {
		if strings.HasSuffix(f, "_test.go") || strings.HasPrefix(f, "report") || f == "texts.go" {
			continue
		}
		b, _ := os.ReadFile(f)
		for _, m := range goKey.FindAllStringSubmatch(string(b), -1) {
			if !strings.HasSuffix(m[1], ".") { // a prefix, completed below
				used[m[1]] = true
			}
		}
	}
	for _, st := range allStatuses {
		used["st."+string(st)] = true
	}
	for _, s := range []tidings.IssueStatus{tidings.IssueDraft, tidings.IssueReady, tidings.IssueScheduled, tidings.IssueSending, tidings.IssueSent} {
		used["is."+string(s)] = true
	}
	for _, s := range []string{"preparing", "running", "paused", "done"} {
		used["send."+s] = true
	}
	for _, s := range []string{"queued", "running", "done", "failed", "title.import", "title.export"} {
		used["job."+s] = true
	}
	for _, s := range []string{"hard", "soft", "complaint"} {
		used["bounce."+s] = true
	}
	for _, s := range []tidings.TaggedBy{tidings.TaggedByKeywords, tidings.TaggedByAttribute, tidings.TaggedByHand} {
		used["tagged."+string(s)] = true
	}
	for _, s := range []tidings.Tracking{tidings.TrackOff, tidings.TrackAggregate, tidings.TrackIndividual} {
		used["track."+string(s)] = true
	}
	used["role.admin"], used["role.editor"] = true, true
	for _, n := range nav {
		used[n.key] = true
	}
	for _, tb := range issueTabs {
		used[tb.key] = true
	}
	for _, k := range []string{"err.notfound", "err.forbidden", "err.unauthenticated", "err.ratelimited", "err.invalid", "err.conflict", "err.unavailable", "err.internal", "err.crossorigin", "err.link", "err.cancel.confirm"} {
		used[k+".text"] = true
	}
	if len(used) < 200 {
		t.Fatalf("only %d keys found: the scan is broken", len(used))
	}
	for k := range used {
		for _, l := range []tidings.Lang{tidings.LangEN, tidings.LangZH} {
			if v, ok := catalogs[l].words[k]; !ok || v == "" {
				t.Errorf("%s: no %s text for %q", l, l, k)
			}
		}
	}
	// The Chinese texts are Chinese: a key left in English is a slip.
	latin := regexp.MustCompile(`^[\x20-\x7e]+$`)
	for k, v := range textsZH {
		if latin.MatchString(v) && textsEN[k] == v && len(v) > 3 && !strings.Contains(v, "%") {
			t.Errorf("zh %q is the English text %q", k, v)
		}
	}
}

func TestAcceptLanguage(t *testing.T) {
	for _, c := range []struct {
		h    string
		want tidings.Lang
		ok   bool
	}{
		{"zh-CN,zh;q=0.9", tidings.LangZH, true},
		{"en-GB,en;q=0.9,zh;q=0.8", tidings.LangEN, true},
		{"fr;q=1, en;q=0.2, zh-TW;q=0.5", tidings.LangZH, true},
		{"en;q=0, zh;q=0.1", tidings.LangZH, true},
		{"de, fr", "", false},
		{"", "", false},
		{";;;,,q=", "", false},
	} {
		got, ok := acceptLanguage(c.h)
		if got != c.want || ok != c.ok {
			t.Errorf("acceptLanguage(%q) = %q, %v; want %q, %v", c.h, got, ok, c.want, c.ok)
		}
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/admin/issues/3?x=1":   "/admin/issues/3?x=1",
		"":                      "/admin/",
		"https://evil.example/": "/admin/",
		"//evil.example/admin/": "/admin/",
		"/admin/\\evil":         "/admin/",
		"/elsewhere":            "/admin/",
		"/admin/\r\nX: y":       "/admin/",
		"javascript:alert(1)":   "/admin/",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNum(t *testing.T) {
	for in, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4200: "-4,200"} {
		if got := num(in); got != want {
			t.Errorf("num(%d) = %q, want %q", in, got, want)
		}
	}
}
