package ops

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/smtpsink"
	"github.com/tidings/tidings/subscribers"
)

func asFieldError(err error, fe **FieldError) bool { return errors.As(err, fe) }

// TestAudienceAgreesWithDryRunAndSend: the audience of the sample
// bulletin as tagged now is what a real dry run counts and what a real
// send writes in the delivery log, per topic choice, and each article's
// recipients are the readers whose previews hold it.
func TestAudienceAgreesWithDryRunAndSend(t *testing.T) {
	sink := bulletinSink(t, smtpsink.Options{})
	e := newBulletinEnv(t, nil)
	id := e.issue.ID
	// Article 4 mentions no keyword: tagged biomed, every article has a
	// topic and the space and no-topic readers get nothing.
	biomed := []string{"biomed"}
	if _, err := e.s.UpdateArticle(e.ctx, e.editor, id, 4, ArticleChange{Topics: &biomed}); err != nil {
		t.Fatal(err)
	}
	au, err := e.s.Audience(e.ctx, e.editor, id)
	if err != nil {
		t.Fatal(err)
	}
	// 9 confirmed readers; pending and unsubscribed ones count nowhere.
	if au.Total != 9 || au.Skipped != 3 {
		t.Fatalf("total = %d, skipped %d; want 9 and 3", au.Total, au.Skipped)
	}
	eng := e.engine(t, sink)
	dry, err := eng.DryRun(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if au.Total != dry.Recipients || au.Skipped != dry.Skipped {
		t.Fatalf("audience total %d skipped %d; dry run %d and %d", au.Total, au.Skipped, dry.Recipients, dry.Skipped)
	}
	dryBy := map[string]int{}
	dryArts := map[string]int{}
	skipped := 0
	for _, c := range dry.Combinations {
		dryBy[c.Key], dryArts[c.Key] = c.Recipients, c.Articles
		if c.Articles == 0 {
			skipped += c.Recipients
		}
	}
	if skipped != au.Skipped {
		t.Errorf("dry run skips %d, audience %d", skipped, au.Skipped)
	}
	seen := map[string]bool{}
	for _, c := range au.Combinations {
		n := 0
		for _, k := range c.TopicSets {
			if seen[k] {
				t.Errorf("topic set %s in two combinations", k)
			}
			seen[k] = true
			n += dryBy[k]
			if dryArts[k] != len(c.Articles) {
				t.Errorf("topic set %s: dry run %d articles, audience %v", k, dryArts[k], c.Articles)
			}
		}
		if n != c.Subscribers {
			t.Errorf("combination %v (%v): %d subscribers, dry run %d", c.Articles, c.TopicSets, c.Subscribers, n)
		}
	}
	for k, n := range dryBy {
		if !seen[k] && dryArts[k] != 0 {
			t.Errorf("dry run's %s (%d readers) is in no combination", k, n)
		}
	}

	// Each article's recipients: the readers whose preview holds it.
	perArt := map[int]int{}
	for _, r := range bulletinReaders {
		if r.status != "confirmed" {
			continue
		}
		p, err := e.s.Preview(e.ctx, e.editor, id, PreviewFor{Email: r.email})
		if err != nil {
			var fe *FieldError
			if errors.As(err, &fe) && strings.Contains(fe.Problem, "gets no article") {
				continue
			}
			t.Fatalf("preview as %s: %v", r.email, err)
		}
		for _, pos := range p.Articles {
			perArt[pos]++
		}
	}
	for _, a := range au.Articles {
		if perArt[a.Position] != a.Recipients {
			t.Errorf("article %d: audience %d recipients, previews %d", a.Position, a.Recipients, perArt[a.Position])
		}
	}

	// A real send writes the same: per topic key, sent vs skipped.
	if _, err := eng.Send(e.ctx, id, mailer.SendOptions{}); err != nil {
		t.Fatal(err)
	}
	rows, err := e.d.R.Query(`SELECT topic_key, state, count(*) FROM deliveries WHERE issue_id = ? GROUP BY 1, 2`, id)
	if err != nil {
		t.Fatal(err)
	}
	sentBy, skippedN := map[string]int{}, 0
	for rows.Next() {
		var k, st string
		var n int
		rows.Scan(&k, &st, &n)
		switch st {
		case "sent":
			sentBy[k] += n
		case "skipped":
			skippedN += n
		default:
			t.Errorf("delivery state %s for %s", st, k)
		}
	}
	rows.Close()
	if skippedN != au.Skipped {
		t.Errorf("send skipped %d, audience %d", skippedN, au.Skipped)
	}
	for _, c := range au.Combinations {
		n := 0
		for _, k := range c.TopicSets {
			n += sentBy[k]
		}
		if n != c.Subscribers {
			t.Errorf("combination %v: send delivered %d, audience %d", c.TopicSets, n, c.Subscribers)
		}
	}
	if sink.Count() != au.Total-au.Skipped {
		t.Errorf("sink got %d messages, audience says %d", sink.Count(), au.Total-au.Skipped)
	}
}

// TestAudienceFollowsRetagging: tagging an article by hand changes who
// gets it at once. Article 4 of the sample mentions no topic's keyword,
// so it first goes to everyone; tagged biomed it leaves the space and
// no-topic readers with nothing; tagged space it reaches the space readers.
func TestAudienceFollowsRetagging(t *testing.T) {
	e := newBulletinEnv(t, nil)
	id := e.issue.ID
	audience := func() *Audience {
		t.Helper()
		au, err := e.s.Audience(e.ctx, e.admin, id)
		if err != nil {
			t.Fatal(err)
		}
		return au
	}
	tag := func(slugs ...string) {
		t.Helper()
		if slugs == nil {
			slugs = []string{}
		}
		if _, err := e.s.UpdateArticle(e.ctx, e.editor, id, 4, ArticleChange{Topics: &slugs}); err != nil {
			t.Fatal(err)
		}
	}
	if au := audience(); au.Skipped != 0 || au.Articles[3].Recipients != au.Total {
		t.Fatalf("untagged article 4: skipped %d, recipients %d of %d", au.Skipped, au.Articles[3].Recipients, au.Total)
	}
	tag("biomed")
	au := audience()
	if au.Skipped != 3 || au.Articles[3].Recipients != 3 {
		t.Errorf("article 4 tagged biomed: skipped %d (want space, space2, none), recipients %d (want all, all2, biomed)", au.Skipped, au.Articles[3].Recipients)
	}
	tag("space")
	au = audience()
	if au.Skipped != 1 || au.Articles[3].Recipients != 4 {
		t.Errorf("article 4 tagged space: skipped %d (want none@), recipients %d (want all, all2, space, space2)", au.Skipped, au.Articles[3].Recipients)
	}
	var spaceCombo *Combination
	for i, c := range au.Combinations {
		if slices.Contains(c.TopicSets, "space") {
			spaceCombo = &au.Combinations[i]
		}
	}
	if spaceCombo == nil || !slices.Equal(spaceCombo.Articles, []int{4}) || spaceCombo.Subscribers != 2 || !slices.Equal(spaceCombo.Topics, []string{"space"}) {
		t.Errorf("space combination = %+v, want articles [4] for 2 readers", spaceCombo)
	}
	if au.Combinations[0].Subscribers < au.Combinations[len(au.Combinations)-1].Subscribers {
		t.Errorf("combinations not most subscribers first: %+v", au.Combinations)
	}
	tag()
	if au := audience(); au.Skipped != 0 {
		t.Errorf("untagged again: skipped %d", au.Skipped)
	}
}

// TestAudienceCountsOnlyConfirmedChoices: the masked count subtracts
// readers who are not confirmed and all-topics readers who still have
// topic rows, and agrees with the plain per-reader grouping and a dry run.
func TestAudienceCountsOnlyConfirmedChoices(t *testing.T) {
	sink := bulletinSink(t, smtpsink.Options{})
	e := newBulletinEnv(t, nil)
	id := e.issue.ID
	// all@ chose every topic but keeps a stale row for finance; a bounced
	// reader of biomed and a blocked one of no topic must count nowhere.
	if _, err := e.d.W.Exec(`INSERT INTO subscription_topics (list_id, subscriber_id, topic_id)
		SELECT ?, p.id, t.id FROM subscribers p, topics t WHERE p.email = 'all@example.cn' AND t.slug = 'finance'`, e.keji.ID); err != nil {
		t.Fatal(err)
	}
	st := subscribers.NewStore(e.d)
	if _, err := st.Subscribe(e.ctx, e.keji.ID, "gone@example.cn", "", subscribers.TopicChoice{Slugs: []string{"biomed"}}, tidings.StatusBounced); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Subscribe(e.ctx, e.keji.ID, "blocked@example.cn", "", subscribers.TopicChoice{Slugs: []string{}}, tidings.StatusBlocked); err != nil {
		t.Fatal(err)
	}
	masked, err := e.s.topicGroups(e.ctx, e.keji.ID)
	if err != nil {
		t.Fatal(err)
	}
	slugs := map[int64]string{}
	topics, _ := st.Topics(e.ctx, e.keji.ID)
	for _, tp := range topics {
		slugs[tp.ID] = tp.Slug
	}
	plain, err := e.s.topicGroupsPlain(e.ctx, e.keji.ID, slugs)
	if err != nil {
		t.Fatal(err)
	}
	byKey := func(gs []topicGroup) map[string]int {
		m := map[string]int{}
		for _, g := range gs {
			m[g.rc.TopicKey()] += g.n
		}
		return m
	}
	mk, pk := byKey(masked), byKey(plain)
	if len(mk) != len(pk) {
		t.Errorf("masked %v, plain %v", mk, pk)
	}
	for k, n := range pk {
		if mk[k] != n {
			t.Errorf("topic set %s: masked %d, plain %d", k, mk[k], n)
		}
	}
	want := map[string]int{"all": 2, "ageing": 1, "biomed": 1, "ageing,finance": 1, "finance": 1, "space": 2, "none": 1}
	for k, n := range want {
		if mk[k] != n {
			t.Errorf("topic set %s: %d readers, want %d (all: %v)", k, mk[k], n, mk)
		}
	}
	au, err := e.s.Audience(e.ctx, e.admin, id)
	if err != nil {
		t.Fatal(err)
	}
	dry, err := e.engine(t, sink).DryRun(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if au.Total != dry.Recipients || au.Skipped != dry.Skipped {
		t.Errorf("audience %d/%d skipped, dry run %d/%d", au.Total, au.Skipped, dry.Recipients, dry.Skipped)
	}
}
