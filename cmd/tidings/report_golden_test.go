package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/tidings/tidings/report"
	"github.com/tidings/tidings/report/reporttest"
)

var updateReport = flag.Bool("update-report", false, "rewrite testdata/golden/report-*.txt")

// The readable report and trend, over report/reporttest's issue that has
// every kind of figure, are golden files: a change of layout shows as a
// diff to read.
func TestReportTextGolden(t *testing.T) {
	d := reporttest.Fixture(t)
	ctx := context.Background()
	r, err := report.For(ctx, d, 1)
	if err != nil {
		t.Fatal(err)
	}
	var one bytes.Buffer
	if err := printReport(&one, r); err != nil {
		t.Fatal(err)
	}
	rs, err := report.Trend(ctx, d, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	var trend bytes.Buffer
	if err := printTrend(&trend, "keji", rs); err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][]byte{"report-1.txt": one.Bytes(), "report-trend.txt": trend.Bytes()} {
		path := filepath.Join("testdata", "golden", name)
		if *updateReport {
			os.MkdirAll(filepath.Dir(path), 0o755)
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (go test -run TestReportTextGolden -update-report writes it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the golden file; got:\n%s", name, got)
		}
	}
}
