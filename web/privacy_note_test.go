package web_test

import (
	"context"
	"html"
	"strings"
	"testing"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/subscribers"
	"github.com/tidings/tidings/token"
)

// The preference page says, in the list's language, what the list's
// tracking mode records.
func TestPreferencesPrivacyNote(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sub := e.addSub(e.en, "reader@example.net", tidings.StatusConfirmed, subscribers.AllTopics)
	zsub := e.addSub(e.zh, "reader@example.cn", tidings.StatusConfirmed, subscribers.AllTopics)
	cases := []struct {
		list          *tidings.List
		sub           int64
		clicks, opens tidings.Tracking
		want, not     []string
	}{
		{e.en, sub.ID, "", "", []string{"What we count", "We do not record who clicked.", "We do not track whether you open"}, []string{"records the links you click"}},
		{e.en, sub.ID, tidings.TrackIndividual, tidings.TrackAggregate, []string{"records the links you click", "for 180 days", "We do not record who opened it."}, []string{"We do not record who clicked."}},
		{e.en, sub.ID, tidings.TrackOff, tidings.TrackIndividual, []string{"we do not count clicks", "records when you open"}, nil},
		{e.zh, zsub.ID, tidings.TrackAggregate, tidings.TrackOff, []string{"我们统计什么", "我们不记录是谁点击的", "我们不追踪您是否打开邮件"}, []string{"What we count"}},
	}
	for _, c := range cases {
		if err := e.subs.UpdateList(ctx, c.list.Slug, func(l *tidings.List) error {
			l.Clicks, l.Opens = c.clicks, c.opens
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		page := e.do(e.browser(), "GET", "/"+c.list.Slug+"/preferences/"+e.tok(token.Preferences, c.list, c.sub), nil)
		body := html.UnescapeString(page.body)
		if page.code != 200 {
			t.Fatalf("%s %s/%s: %d", c.list.Slug, c.clicks, c.opens, page.code)
		}
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s clicks=%q opens=%q: page lacks %q", c.list.Slug, c.clicks, c.opens, w)
			}
		}
		for _, w := range c.not {
			if strings.Contains(body, w) {
				t.Errorf("%s clicks=%q opens=%q: page has %q", c.list.Slug, c.clicks, c.opens, w)
			}
		}
	}
}
