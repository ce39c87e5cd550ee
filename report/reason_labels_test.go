package report

import (
	"testing"

	"github.com/tidings/tidings/track"
)

// Every reason the classifier can store in track_counts.reason has a
// label in both languages: a rule added to package track without one
// would show its bare name on the report.
func TestReasonLabelsCoverEveryRule(t *testing.T) {
	var reasons []string
	for _, r := range track.NewClassifier(-1).Rules {
		reasons = append(reasons, r.Name())
		if h, ok := r.(interface{ HumanReason() string }); ok {
			reasons = append(reasons, h.HumanReason())
		}
	}
	for _, reason := range reasons {
		for _, lang := range []string{"en", "zh"} {
			if got := ReasonLabel(reason, lang); got == reason || got == "" {
				t.Errorf("ReasonLabel(%q, %q) = %q: no label", reason, lang, got)
			}
		}
		if ReasonLabel(reason, "en") == ReasonLabel(reason, "zh") {
			t.Errorf("ReasonLabel(%q): the same text in English and Chinese", reason)
		}
	}
	if got := ReasonLabel("no_such_rule", "zh"); got != "no_such_rule" {
		t.Errorf("unknown reason: got %q, want it unchanged", got)
	}
}
