package cjkwidth

import "testing"

func TestWidth(t *testing.T) {
	for s, want := range map[string]int{"": 0, "abc": 3, "科技": 4, "科技 news": 9, "ＡＢ": 4, "“引号”": 6} {
		if got := Width(s); got != want {
			t.Errorf("Width(%q) = %d, want %d", s, got, want)
		}
	}
}
