package tidings

import "testing"

// The one selection rule and the delivery log's topic key, as rendering,
// the audience and previews all use them.
func TestRecipientReceivesAndTopicKey(t *testing.T) {
	cases := []struct {
		name    string
		rc      Recipient
		article []string
		gets    bool
		key     string
	}{
		{"all topics, tagged article", Recipient{AllTopics: true}, []string{"ai"}, true, "all"},
		{"untagged article goes to everyone", Recipient{Topics: []string{"bio"}}, nil, true, "bio"},
		{"shared topic", Recipient{Topics: []string{"space", "ai"}}, []string{"ai", "bio"}, true, "ai,space"},
		{"no shared topic", Recipient{Topics: []string{"space"}}, []string{"ai"}, false, "space"},
		{"no topics chosen", Recipient{}, []string{"ai"}, false, "none"},
		{"no topics chosen, untagged article", Recipient{}, nil, true, "none"},
		{"duplicates and order do not change the key", Recipient{Topics: []string{"b", "a", "b"}}, []string{"c"}, false, "a,b"},
	}
	for _, c := range cases {
		if got := c.rc.Receives(c.article); got != c.gets {
			t.Errorf("%s: Receives = %v, want %v", c.name, got, c.gets)
		}
		before := append([]string(nil), c.rc.Topics...)
		if got := c.rc.TopicKey(); got != c.key {
			t.Errorf("%s: TopicKey = %q, want %q", c.name, got, c.key)
		}
		for i := range before {
			if c.rc.Topics[i] != before[i] {
				t.Errorf("%s: TopicKey reordered the reader's topics", c.name)
			}
		}
	}
}
