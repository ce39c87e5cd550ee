package report_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tidings/tidings/report"
	"github.com/tidings/tidings/report/reporttest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func TestTrendIsNewestSendFirstAndSkipsUnsent(t *testing.T) {
	d := reporttest.Fixture(t)
	ctx := context.Background()
	rs, err := report.Trend(ctx, d, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Issue != 2 || rs[1].Issue != 1 {
		t.Fatalf("trend = %d reports (%v), want issues 2 then 1 (3 was never sent)", len(rs), ids(rs))
	}
	if rs[1].Unsubscribed != 2 || rs[0].Unsubscribed != 1 || rs[1].Clicks.Human != 7 {
		t.Errorf("trend figures differ from the single reports: %+v", rs)
	}
	rs, err = report.Trend(ctx, d, 1, 1)
	if err != nil || len(rs) != 1 || rs[0].Issue != 2 {
		t.Errorf("trend --last 1 = %v, %v; want issue 2 only", ids(rs), err)
	}
	if rs, err := report.Trend(ctx, d, 2, 10); err != nil || len(rs) != 0 {
		t.Errorf("trend of a list never sent = %v, %v; want none", ids(rs), err)
	}
	for _, bad := range []int{0, -1, report.MaxTrend + 1} {
		if _, err := report.Trend(ctx, d, 1, bad); !errors.Is(err, report.ErrInvalid) {
			t.Errorf("Trend(last=%d) = %v, want ErrInvalid", bad, err)
		}
	}
}

func ids(rs []report.Report) []int64 {
	var out []int64
	for _, r := range rs {
		out = append(out, r.Issue)
	}
	return out
}

// golden compares got with testdata/golden/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; got:\n%s", name, got)
	}
}

func TestReportCSVLayout(t *testing.T) {
	r := mustReport(t, reporttest.Fixture(t), 1)
	var buf bytes.Buffer
	if err := report.WriteCSV(&buf, r); err != nil {
		t.Fatal(err)
	}
	golden(t, "report-1.csv", buf.Bytes())
	recs, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
	if err != nil {
		t.Fatalf("the export is not CSV: %v", err)
	}
	find := func(section, item, metric string) string {
		for _, rec := range recs {
			if rec[1] == section && rec[2] == item && rec[4] == metric {
				return rec[5]
			}
		}
		return "missing"
	}
	for _, c := range [][4]string{
		{"summary", "", "delivered", "7"},
		{"summary", "", "unique_clickers", ""}, // null in aggregate mode
		{"article", "1", "clicks_human", "4"},
		{"topic", "biomed", "reader_clicks_human", "3"},
		{"link", "2.2", "clicks_machine", "3"},
		{"machine_reason", "apple_proxy", "events", "6"},
		{"timeline", "2026-07-01T13:00:00Z", "clicks_human", "2"},
	} {
		if got := find(c[0], c[1], c[2]); got != c[3] {
			t.Errorf("%s %s %s = %q, want %q", c[0], c[1], c[2], got, c[3])
		}
	}
	for _, rec := range recs {
		if len(rec) != len(report.CSVHeader) {
			t.Fatalf("row %v has %d fields, want %d", rec, len(rec), len(report.CSVHeader))
		}
	}
}

func TestCSVNeutralisesFormulas(t *testing.T) {
	r := &report.Report{Issue: 1, Articles: []report.Article{{Position: 1, Title: "=HYPERLINK(\"http://evil\")"}, {Position: 2, Title: "+1"}, {Position: 3, Title: "正常"}}}
	var buf bytes.Buffer
	if err := report.WriteCSV(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if strings.Contains(out, ",=HYPERLINK") || strings.Contains(out, "\"=HYPERLINK") || strings.Contains(out, ",+1,") {
		t.Errorf("a title reads as a formula:\n%s", out)
	}
	if !strings.Contains(out, "'=HYPERLINK") || !strings.Contains(out, ",正常,") {
		t.Errorf("titles not kept readable:\n%s", out)
	}
}

func TestTrendCSV(t *testing.T) {
	d := reporttest.Fixture(t)
	rs, err := report.Trend(context.Background(), d, 1, 5)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := report.WriteTrendCSV(&buf, rs); err != nil {
		t.Fatal(err)
	}
	golden(t, "trend-keji.csv", buf.Bytes())
}
