package tidings_test

import (
	"testing"

	"github.com/tidings/tidings"
)

func TestMailboxGone(t *testing.T) {
	for code, want := range map[string]bool{
		"5.1.1": true, "5.1.10": true, "5.1.2": true, "5.2.1": true,
		"5.1.7": false, "5.1.8": false, "5.2.2": false, "5.7.1": false, "5.7.9": false,
		"4.1.1": false, "4.2.2": false, "5.0.0": false, "": false,
	} {
		if got := tidings.MailboxGone(code); got != want {
			t.Errorf("MailboxGone(%q) = %v, want %v", code, got, want)
		}
	}
}
