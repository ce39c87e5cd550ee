package subscribers_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/tidings/tidings/subscribers"
)

// A stray quote must cost one row, not the good rows after it: encoding/csv
// on its own reads everything up to the next quote (or the end of the file)
// as one cell.
func TestImportStrayQuoteKeepsLaterRows(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		badLines []int
		badMsg   string // substring of the first report
		stored   []string
	}{
		{
			name:     "unclosed quote before the last rows",
			in:       "email,name,topics\na@example.com,A,ai\nb@example.com,\"Bo, Jr.\nc@example.com,C,chips\nd@example.com,D,all\n",
			badLines: []int{3},
			badMsg:   "not closed",
			stored:   []string{"a@example.com", "c@example.com", "d@example.com"},
		},
		{
			name:     "unclosed quote on the last line, no newline",
			in:       "a@example.com,A\nb@example.com,\"B",
			badLines: []int{2},
			badMsg:   "malformed CSV",
			stored:   []string{"a@example.com"},
		},
		{
			name:     "quote closed lines later by another stray quote",
			in:       "a@example.com,\"A\nb@example.com,B\nc@example.com,\"C\"x\nd@example.com,D\n",
			badLines: []int{1, 3},
			badMsg:   "not closed",
			stored:   []string{"b@example.com", "d@example.com"},
		},
		{
			name: "quote open over more lines than a record may span",
			in:   "a@example.com,\"A\n" + strings.Repeat("x,y\n", 12) + "b@example.com,B\n",
			// the 12 "x,y" lines are bad addresses, each reported on its own line
			badLines: []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13},
			badMsg:   "not closed",
			stored:   []string{"b@example.com"},
		},
		{
			name:     "quoted cells with commas, doubled quotes and CRLF stay one row each",
			in:       "\"a@example.com\",\"A, \"\"the\"\" one\",\"ai;chips\"\r\n  \"b@example.com\" ,B\r\n",
			badLines: []int{2},
			badMsg:   "malformed CSV",
			stored:   []string{"a@example.com"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStore(t)
			l := fixture(t, s)
			var rep report
			st, err := s.Import(ctx, strings.NewReader(tt.in), subscribers.ImportOptions{ListID: l.ID, DefaultTopics: subscribers.AllTopics, Report: rep.add})
			if !errors.Is(err, subscribers.ErrBadRows) {
				t.Fatalf("err %v, want ErrBadRows (%q)", err, rep.msgs)
			}
			if !reflect.DeepEqual(rep.lines, tt.badLines) {
				t.Errorf("bad lines %v, want %v:\n%s", rep.lines, tt.badLines, strings.Join(rep.msgs, "\n"))
			}
			if len(rep.msgs) == 0 || !strings.Contains(rep.msgs[0], tt.badMsg) {
				t.Errorf("first report %q, want it to contain %q", rep.msgs, tt.badMsg)
			}
			var got []string
			for _, row := range dump(t, s, l.ID) {
				got = append(got, row[:strings.IndexByte(row, '|')])
			}
			if !reflect.DeepEqual(got, tt.stored) {
				t.Errorf("stored %q, want %q", got, tt.stored)
			}
			if st.Added != len(tt.stored) || st.Bad != len(tt.badLines) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// Stdin cannot be read twice, so its encoding is decided on the first
// 64 KiB; a GBK name after that must be a bad row, not stored garbage.
func TestImportRefusesBytesThatAreNotUTF8(t *testing.T) {
	var in strings.Builder
	for i := 0; in.Len() < 70<<10; i++ {
		fmt.Fprintf(&in, "ascii%d@example.com,Name %d\n", i, i)
	}
	asciiRows := strings.Count(in.String(), "\n")
	in.WriteString("wang@example.com,")
	in.Write(gb18030(t, "王芳"))
	in.WriteString("\nlast@example.com,Last\n")

	s, _ := newStore(t)
	l := fixture(t, s)
	var rep report
	st, err := s.Import(ctx, onlyReader{strings.NewReader(in.String())}, subscribers.ImportOptions{ListID: l.ID, DefaultTopics: subscribers.AllTopics, Report: rep.add})
	if !errors.Is(err, subscribers.ErrBadRows) || st.Encoding != "UTF-8" {
		t.Fatalf("err %v, stats %+v", err, st)
	}
	if !reflect.DeepEqual(rep.lines, []int{asciiRows + 1}) || !strings.Contains(rep.msgs[0], "not UTF-8") {
		t.Errorf("reports %q, want line %d not UTF-8", rep.msgs, asciiRows+1)
	}
	if st.Added != asciiRows+1 {
		t.Errorf("added %d, want %d", st.Added, asciiRows+1)
	}
	if err := subscribers.CheckName("name", "\xff"); !errors.Is(err, subscribers.ErrInvalid) {
		t.Errorf("CheckName of a non-UTF-8 name: %v", err)
	}
}

// A file that is not line-oriented text stops the import at once, before
// it is read into memory whole.
func TestImportRefusesHugeLine(t *testing.T) {
	s, _ := newStore(t)
	l := fixture(t, s)
	in := "a@example.com,A\n" + strings.Repeat("x", 2<<20) + "\n"
	st, err := s.Import(ctx, strings.NewReader(in), subscribers.ImportOptions{ListID: l.ID})
	if !errors.Is(err, subscribers.ErrInvalid) || !strings.Contains(err.Error(), "line 2 is longer than") {
		t.Errorf("huge line: %+v, %v", st, err)
	}
}
