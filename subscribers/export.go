// export.go writes subscribers out: CSV and JSON export, and the records
// of `sub ls --json`.

package subscribers

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"

	"github.com/tidings/tidings"
)

// Export writes a list's subscribers, every status, in subscriber order:
// format "csv" (header email,name,topics,status; topics as Import reads
// them) or "json" (an array of objects with the keys of `sub ls --json`).
// It streams; importing the CSV into an empty database restores the list.
func (s *Store) Export(ctx context.Context, w io.Writer, listID int64, format string) error {
	switch format {
	case "", "csv":
		cw := csv.NewWriter(w)
		if err := cw.Write([]string{"email", "name", "topics", "status"}); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		err := s.EachSubscriber(ctx, Filter{ListID: listID}, func(p tidings.Subscriber, ss tidings.Subscription) error {
			return cw.Write([]string{p.Email, p.Name, ChoiceOf(ss).String(), string(ss.Status)})
		})
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		return nil
	case "json":
		if err := s.WriteJSON(ctx, w, Filter{ListID: listID}); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		return nil
	}
	return invalidf("export format %q: want csv or json", format)
}

// WriteJSON streams the subscriptions f selects as a JSON array of
// Records, one a line: the output of `sub ls --json` and of a JSON export,
// which Import reads back.
func (s *Store) WriteJSON(ctx context.Context, w io.Writer, f Filter) error {
	out := NewRecordWriter(w)
	if err := s.EachSubscriber(ctx, f, func(p tidings.Subscriber, ss tidings.Subscription) error {
		return out.Write(ExportRecord(p, ss))
	}); err != nil {
		return err
	}
	return out.Close()
}

// RecordWriter streams Records as a JSON array, one record a line: the
// form of `sub ls --json` and of a JSON export, which Import reads back.
type RecordWriter struct {
	bw *bufio.Writer
	n  int
}

// NewRecordWriter starts an array on w.
func NewRecordWriter(w io.Writer) *RecordWriter {
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString("[")
	return &RecordWriter{bw: bw}
}

// Write adds one record.
func (rw *RecordWriter) Write(r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	if rw.n > 0 {
		rw.bw.WriteString(",")
	}
	rw.n++
	rw.bw.WriteString("\n  ")
	_, err = rw.bw.Write(b)
	return err
}

// Close ends the array and flushes it.
func (rw *RecordWriter) Close() error {
	if rw.n > 0 {
		rw.bw.WriteString("\n")
	}
	rw.bw.WriteString("]\n")
	return rw.bw.Flush()
}

// Record is one subscription as `sub ls --json` and JSON export print it.
type Record struct {
	Email  string   `json:"email"`
	Name   string   `json:"name"`
	Status string   `json:"status"`
	Topics []string `json:"topics"`
}

// ExportRecord is the Record of a person's subscription.
func ExportRecord(p tidings.Subscriber, ss tidings.Subscription) Record {
	return Record{Email: p.Email, Name: p.Name, Status: string(ss.Status), Topics: ChoiceOf(ss).JSON()}
}
