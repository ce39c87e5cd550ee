package subscribers

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzImportCSVRows: the record splitter never loops or panics, hands out each
// line at most once as the start of a row, in order, and agrees with
// encoding/csv wherever a file has no quotes to disagree about.
func FuzzImportCSVRows(f *testing.F) {
	for _, s := range []string{
		"email,name\na@example.com,A\n",
		"a@example.com,\"Bo, Jr.\nb@example.com,B\n",
		"a@example.com,\"A\"\"x\",ai\r\nb@example.com,\"B\nC\",,\n",
		"\"a@example.com\" ,B\n\"\n\"\n",
		"  \"x\",\"y\"z\n,,,\n\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		next := csvRows(bufio.NewReader(strings.NewReader(s)))
		lines := strings.Count(s, "\n") + 1
		prev := 0
		var got []string
		for i := 0; ; i++ {
			if i > lines+1 {
				t.Fatalf("more rows than lines in %q", s)
			}
			line, row, err := next()
			if errors.Is(err, io.EOF) {
				break
			}
			var fatal *fatalError
			if errors.As(err, &fatal) {
				return // a bad header: the import stops
			}
			if line <= prev || line > lines {
				t.Fatalf("line %d after %d (of %d) in %q", line, prev, lines, s)
			}
			prev = line
			if err == nil {
				got = append(got, row.email.Key)
			}
		}
		if strings.Contains(s, `"`) {
			return
		}
		// Without quotes every line is a record on its own for both.
		var want []string
		for i, l := range strings.Split(s, "\n") {
			rec := strings.Split(strings.TrimSuffix(l, "\r"), ",")
			if i == 0 {
				if _, ok, _ := parseHeader(rec); ok {
					continue
				}
			}
			if blank(rec) {
				continue
			}
			for j := range rec {
				rec[j] = strings.TrimLeft(rec[j], " \t")
			}
			if row, err := parseRow(rec, defaultColumns); err == nil {
				want = append(want, row.email.Key)
			}
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("rows %q, want %q, of %q", got, want, s)
		}
	})
}
