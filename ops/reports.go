package ops

import (
	"context"
	"io"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/report"
)

// Report is how an issue did (editor of its list).
func (s *Service) Report(ctx context.Context, a tidings.Actor, issueID int64) (*report.Report, error) {
	return nil, errNotImplemented
}

// Trend is the reports of a list's last issues, newest first.
func (s *Service) Trend(ctx context.Context, a tidings.Actor, listSlug string, last int) ([]report.Report, error) {
	return nil, errNotImplemented
}

// ReportCSV writes an issue's report as CSV.
func (s *Service) ReportCSV(ctx context.Context, a tidings.Actor, issueID int64, w io.Writer) error {
	return errNotImplemented
}
