package api

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/ops"
	"github.com/tidings/tidings/subscribers"
)

// jobJSON is a background import or export with its progress and, for an
// import, its per-line error report.
type jobJSON struct {
	ID         int64           `json:"id"`
	Kind       string          `json:"kind"`
	List       string          `json:"list"`
	State      string          `json:"state"`
	DryRun     bool            `json:"dry_run"`
	Total      int             `json:"total"`
	Done       int             `json:"done"`
	Stats      any             `json:"stats"`
	Errors     []lineErrorJSON `json:"errors"`
	Error      string          `json:"error"`
	CreatedAt  *string         `json:"created_at"`
	FinishedAt *string         `json:"finished_at"`
}

type lineErrorJSON struct {
	Line    int    `json:"line"`
	Problem string `json:"problem"`
}

// importStatsJSON is what an import did (or would do, on a dry run).
type importStatsJSON struct {
	Rows      int    `json:"rows"`
	Added     int    `json:"added"`
	Updated   int    `json:"updated"`
	Unchanged int    `json:"unchanged"`
	Bad       int    `json:"bad"`
	Encoding  string `json:"encoding"`
}

func toJobJSON(j *ops.Job) jobJSON {
	out := jobJSON{ID: j.ID, Kind: j.Kind, List: j.ListSlug, State: j.State, DryRun: j.DryRun,
		Total: j.Total, Done: j.Done, Error: j.Error, Errors: make([]lineErrorJSON, 0, len(j.Errors)),
		CreatedAt: timeOrNil(j.CreatedAt), FinishedAt: timeOrNil(j.FinishedAt)}
	if j.Stats != nil {
		out.Stats = toImportStats(j.Stats)
	}
	for _, e := range j.Errors {
		out.Errors = append(out.Errors, lineErrorJSON{e.Line, e.Problem})
	}
	return out
}

func writeJob(w http.ResponseWriter, status int, j *ops.Job) error {
	w.Header().Set("Location", Prefix+"/jobs/"+strconv.FormatInt(j.ID, 10))
	return writeJSON(w, status, toJobJSON(j))
}

// postImport starts a CSV import (the body; columns email[,name[,topics[,status]]])
// into the list: 202 with the job. ?dry_run=1 only checks; ?topics=a,b are
// the topics of rows that name none.
func postImport(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	if err := wantContentType(r, "text/csv"); err != nil {
		return err
	}
	dry, err := queryBool(r, "dry_run")
	if err != nil {
		return err
	}
	req := ops.ImportRequest{DefaultTopics: subscribers.AllTopics, DryRun: dry}
	if v := r.URL.Query().Get("topics"); v != "" {
		if req.DefaultTopics, err = subscribers.ParseTopicChoice(v); err != nil {
			return invalid("topics", "%v", err)
		}
	}
	data, err := readFile(w, r)
	if err != nil {
		return err
	}
	j, err := s.ops.StartImport(r.Context(), a, r.PathValue("list"), data, req)
	if err != nil {
		return err
	}
	return writeJob(w, http.StatusAccepted, j)
}

// postExport starts an export of the list (?format=csv|json): 202 with the
// job; GET /jobs/{id}/output has the file once it is done.
func postExport(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	format := r.URL.Query().Get("format")
	switch format {
	case "":
		format = "csv"
	case "csv", "json":
	default:
		return invalid("format", "%q: want csv or json", format)
	}
	j, err := s.ops.StartExport(r.Context(), a, r.PathValue("list"), format)
	if err != nil {
		return err
	}
	return writeJob(w, http.StatusAccepted, j)
}

func getJob(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	j, err := s.ops.Job(r.Context(), a, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toJobJSON(j))
}

// getJobOutput sends a finished export. ops writes it into a temporary
// file first: its content type is known only at the end, and a refusal or
// failure must still be answerable as a problem document rather than a
// cut-off 200.
func getJobOutput(s *server, w http.ResponseWriter, r *http.Request, a tidings.Actor) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp("", "tidings-export-*")
	if err != nil {
		return fmt.Errorf("export output: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	bw := bufio.NewWriterSize(f, 64<<10)
	ct, err := s.ops.JobOutput(r.Context(), a, id, bw)
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("export output: %w", err)
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("export output: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("export output: %w", err)
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	io.Copy(w, f) // a client that goes away mid-file has nothing left to hear
	return nil
}

func toImportStats(st *subscribers.ImportStats) importStatsJSON {
	return importStatsJSON{Rows: st.Rows, Added: st.Added, Updated: st.Updated, Unchanged: st.Unchanged, Bad: st.Bad, Encoding: st.Encoding}
}
