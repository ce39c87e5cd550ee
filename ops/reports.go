package ops

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/report"
)

// Report is how an issue did (editor of its list). An issue never sent
// has a report of zeros.
func (s *Service) Report(ctx context.Context, a tidings.Actor, issueID int64) (*report.Report, error) {
	listID, err := report.IssueList(ctx, s.d, issueID)
	if err != nil {
		return nil, reportErr(err)
	}
	if err := authorize(a, PermView, listID); err != nil {
		return nil, fmt.Errorf("report of issue %d: %w", issueID, err)
	}
	r, err := report.For(ctx, s.d, issueID)
	if err != nil {
		return nil, reportErr(err)
	}
	return r, nil
}

// Trend is the reports of a list's last issues, newest first.
func (s *Service) Trend(ctx context.Context, a tidings.Actor, listSlug string, last int) ([]report.Report, error) {
	if last < 1 || last > report.MaxTrend {
		return nil, Invalid("last", "want 1 to %d issues, got %d", report.MaxTrend, last)
	}
	listID, err := report.ListID(ctx, s.d, listSlug)
	if err != nil {
		return nil, reportErr(err)
	}
	if err := authorize(a, PermView, listID); err != nil {
		return nil, fmt.Errorf("trend of list %s: %w", listSlug, err)
	}
	rs, err := report.Trend(ctx, s.d, listID, last)
	if err != nil {
		return nil, reportErr(err)
	}
	return rs, nil
}

// ReportCSV writes an issue's report as CSV (report.WriteCSV's layout).
func (s *Service) ReportCSV(ctx context.Context, a tidings.Actor, issueID int64, w io.Writer) error {
	r, err := s.Report(ctx, a, issueID)
	if err != nil {
		return err
	}
	return report.WriteCSV(w, r)
}

// reportErr maps package report's sentinels onto this package's, keeping
// the message ("issue 7: not found") as it is.
func reportErr(err error) error {
	switch {
	case errors.Is(err, report.ErrNotFound):
		return as(ErrNotFound, err)
	case errors.Is(err, report.ErrInvalid):
		return as(ErrInvalid, err)
	}
	return err
}
