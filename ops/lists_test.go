package ops

import (
	"strings"
	"testing"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/subscribers"
)

func TestListsShowOnlyTheActorsLists(t *testing.T) {
	e := newPeopleEnv(t)
	e.sub(t, e.keji, "a@example.org", subscribers.AllTopics, tidings.StatusConfirmed)
	for _, tc := range []struct {
		name  string
		actor tidings.Actor
		want  string
	}{
		{"admin", e.admin, "keji,other"},
		{"editor of keji", e.editor, "keji"},
		{"editor of other", e.stranger, "other"},
		{"editor of no list", tidings.Actor{Kind: tidings.ActorUser, Name: "x", Role: tidings.RoleEditor}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ls, err := e.s.Lists(e.ctx, tc.actor)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range ls {
				got = append(got, l.Slug)
			}
			if strings.Join(got, ",") != tc.want {
				t.Fatalf("lists = %v, want %s", got, tc.want)
			}
		})
	}
	_, err := e.s.Lists(e.ctx, tidings.Actor{Kind: tidings.ActorUser, Name: "nobody"})
	wantErr(t, err, ErrForbidden)
}

func TestListByActor(t *testing.T) {
	e := newPeopleEnv(t)
	e.sub(t, e.keji, "a@example.org", subscribers.AllTopics, tidings.StatusConfirmed)
	l, err := e.s.List(e.ctx, e.editor, "keji")
	if err != nil {
		t.Fatal(err)
	}
	if l.Subscribers != 1 {
		t.Errorf("subscribers = %d, want 1", l.Subscribers)
	}
	// The editor's only list is the list when none is named.
	if l, err := e.s.List(e.ctx, e.editor, ""); err != nil || l.Slug != "keji" {
		t.Fatalf("List(\"\") = %v, %v; want keji", l, err)
	}
	_, err = e.s.List(e.ctx, e.stranger, "keji")
	wantErr(t, err, ErrForbidden)
	_, err = e.s.List(e.ctx, e.admin, "nope")
	wantErr(t, err, ErrNotFound)
	// Two lists and no name: the admin must choose.
	_, err = e.s.List(e.ctx, e.admin, "")
	wantField(t, err, "list")
}

func TestCreateListNeedsAnAdminOfEveryList(t *testing.T) {
	e := newPeopleEnv(t)
	for _, a := range []tidings.Actor{e.editor, e.otherAdmin} {
		err := e.s.CreateList(e.ctx, a, &tidings.List{Slug: "new", Name: "New", From: "n@example.org"})
		wantErr(t, err, ErrForbidden)
	}
	if n := e.count(t, "SELECT count(*) FROM lists WHERE slug = 'new'"); n != 0 {
		t.Fatalf("a refused list was stored")
	}
	l := &tidings.List{Slug: "new", Name: "New", From: "New <n@example.org>", TZ: "Europe/Paris"}
	if err := e.s.CreateList(e.ctx, e.admin, l); err != nil {
		t.Fatal(err)
	}
	if l.ID == 0 || l.Lang != tidings.LangEN {
		t.Errorf("list = %+v: want an id and the default language", l)
	}
	a := e.lastAudit(t)
	if a.action != "list.add" || a.objID != "new" || a.list != l.ID || a.actor != "root@example.org" {
		t.Errorf("audit = %+v", a)
	}
	err := e.s.CreateList(e.ctx, e.admin, &tidings.List{Slug: "new", Name: "Again", From: "n@example.org"})
	wantErr(t, err, ErrConflict)
}

func TestCreateListBadInputNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		name  string
		list  tidings.List
		field string
	}{
		{"bad slug", tidings.List{Slug: "Bad Slug", Name: "n", From: "a@example.org"}, "slug"},
		{"empty slug", tidings.List{Slug: "", Name: "n", From: "a@example.org"}, "slug"},
		{"slug of a page of tidings", tidings.List{Slug: "admin", Name: "n", From: "a@example.org"}, "slug"},
		{"no name", tidings.List{Slug: "x", From: "a@example.org"}, "name"},
		{"name with a line break", tidings.List{Slug: "x", Name: "a\nb", From: "a@example.org"}, "name"},
		{"no from", tidings.List{Slug: "x", Name: "n"}, "from"},
		{"bad from", tidings.List{Slug: "x", Name: "n", From: "not an address"}, "from"},
		{"bad zone", tidings.List{Slug: "x", Name: "n", From: "a@example.org", TZ: "Mars/Olympus"}, "tz"},
		{"bad language", tidings.List{Slug: "x", Name: "n", From: "a@example.org", Lang: "fr"}, "lang"},
		{"bad reply-to", tidings.List{Slug: "x", Name: "n", From: "a@example.org", ReplyTo: "nope"}, "reply_to"},
		{"bad clicks", tidings.List{Slug: "x", Name: "n", From: "a@example.org", Clicks: "all"}, "clicks"},
		{"from-like slug, bad name", tidings.List{Slug: "from", Name: "", From: "a@example.org"}, "name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newPeopleEnv(t)
			l := tc.list
			wantField(t, e.s.CreateList(e.ctx, e.admin, &l), tc.field)
			if n := e.count(t, "SELECT count(*) FROM lists"); n != 2 {
				t.Errorf("%d lists: a refused list was stored", n)
			}
			if n := e.count(t, "SELECT count(*) FROM audit_log"); n != 0 {
				t.Errorf("a refused change was audited")
			}
		})
	}
}

func TestUpdateList(t *testing.T) {
	e := newPeopleEnv(t)
	// A key that cannot sign is refused before anything is stored, from
	// any front end: stored, it would fail every send of the list.
	_, err := e.s.UpdateList(e.ctx, e.admin, "keji", func(l *tidings.List) error {
		l.Name = "not stored"
		l.DKIMKey, l.DKIMSelector = "-----BEGIN PRIVATE KEY-----secret", "s1"
		return nil
	})
	wantField(t, err, "dkim_key")
	if l, _ := e.s.List(e.ctx, e.admin, "keji"); l.Name == "not stored" || l.DKIMKey != "" {
		t.Errorf("a refused key changed the list: %+v", l)
	}
	pemKey, _, err := mailer.GenerateDKIMKey("ed25519")
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.s.UpdateList(e.ctx, e.admin, "keji", func(l *tidings.List) error {
		l.Name = "科技情报周刊"
		l.DKIMKey, l.DKIMSelector = string(pemKey), "s1"
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "科技情报周刊" || got.TZ != "Asia/Shanghai" {
		t.Errorf("list = %+v", got)
	}
	a := e.lastAudit(t)
	if a.action != "list.set" || a.list != e.keji.ID || !strings.Contains(a.detail, `"name":"科技情报周刊"`) ||
		strings.Contains(a.detail, "PRIVATE") || !strings.Contains(a.detail, `"dkim_key":"changed"`) {
		t.Errorf("audit = %+v: want the new name, and the key only as changed", a)
	}
	// Editors and admins of other lists do not change settings.
	for _, actor := range []tidings.Actor{e.editor, e.otherAdmin} {
		_, err := e.s.UpdateList(e.ctx, actor, "keji", func(l *tidings.List) error { l.Name = "x"; return nil })
		wantErr(t, err, ErrForbidden)
	}
	// A bad value names its field and changes nothing.
	_, err = e.s.UpdateList(e.ctx, e.admin, "keji", func(l *tidings.List) error { l.Name = "ok"; l.TZ = "Nowhere/Land"; return nil })
	wantField(t, err, "tz")
	l, _ := e.s.List(e.ctx, e.admin, "keji")
	if l.Name != "科技情报周刊" || l.TZ != "Asia/Shanghai" {
		t.Errorf("after a refused change: %+v", l)
	}
	// The callback's own error comes back as it is.
	_, err = e.s.UpdateList(e.ctx, e.admin, "keji", func(l *tidings.List) error { return errTestCallback })
	if err != errTestCallback {
		t.Errorf("err = %v, want the callback's", err)
	}
	_, err = e.s.UpdateList(e.ctx, e.admin, "nope", func(l *tidings.List) error { return nil })
	wantErr(t, err, ErrNotFound)
}

var errTestCallback = errorString("callback refused")

type errorString string

func (e errorString) Error() string { return string(e) }

func TestDeleteList(t *testing.T) {
	e := newPeopleEnv(t)
	e.sub(t, e.keji, "a@example.org", subscribers.AllTopics, tidings.StatusConfirmed)
	wantErr(t, e.s.DeleteList(e.ctx, e.editor, "keji", true), ErrForbidden)
	err := e.s.DeleteList(e.ctx, e.admin, "keji", false)
	wantErr(t, err, ErrConflict)
	if !strings.Contains(err.Error(), "--force") {
		t.Errorf("message %q lost the store's advice", err)
	}
	if err := e.s.DeleteList(e.ctx, e.admin, "keji", true); err != nil {
		t.Fatal(err)
	}
	if n := e.count(t, "SELECT count(*) FROM lists WHERE slug = 'keji'"); n != 0 {
		t.Error("list still there")
	}
	if a := e.lastAudit(t); a.action != "list.rm" || a.objID != "keji" {
		t.Errorf("audit = %+v", a)
	}
}
