package api

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/report"
)

// getReport answers report.Report, whose JSON keys are CONTRACT's.
func getReport(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	rep, err := s.ops.Report(r.Context(), a, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, normalizeReport(rep))
}

// getReportCSV answers the report as CSV. It is small (one row per
// article, topic and link), so it is built in memory and a failure is
// still a problem document.
func getReportCSV(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := s.ops.ReportCSV(r.Context(), a, id, &buf); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="issue-%d-report.csv"`, id))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes()) // a client gone away has nothing left to hear
	return nil
}

// getTrend answers the reports of the list's last ?last=N issues (default
// 10), newest first.
func getTrend(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	last, err := queryInt(r, "last", 10, 1, 100)
	if err != nil {
		return err
	}
	reps, err := s.ops.Trend(r.Context(), a, r.PathValue("list"), last)
	if err != nil {
		return err
	}
	out := make([]*report.Report, 0, len(reps))
	for i := range reps {
		out = append(out, normalizeReport(&reps[i]))
	}
	return writeJSON(w, http.StatusOK, out)
}

// normalizeReport turns nil slices and maps into empty ones, so that every
// array key is an array in JSON as the document says.
func normalizeReport(r *report.Report) *report.Report {
	c := *r
	c.Articles, c.Topics, c.Links, c.Timeline = orEmpty(c.Articles), orEmpty(c.Topics), orEmpty(c.Links), orEmpty(c.Timeline)
	if len(c.Articles) > 0 {
		c.Articles = append([]report.Article(nil), c.Articles...)
		for i := range c.Articles {
			c.Articles[i].Topics = orEmpty(c.Articles[i].Topics)
		}
	}
	if c.MachineReasons == nil {
		c.MachineReasons = map[string]int{}
	}
	return &c
}
