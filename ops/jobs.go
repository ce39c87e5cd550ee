package ops

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/subscribers"
)

// ImportRequest is a CSV (or JSON) import of subscribers.
type ImportRequest struct {
	// DefaultTopics are the topics of rows without a topics cell, for
	// people new to the list (the command line's default is every topic).
	DefaultTopics subscribers.TopicChoice
	DryRun        bool
}

// Job is a background import or export with its progress.
type Job struct {
	ID         int64
	Kind       string // import | export
	ListSlug   string
	State      string // queued, running, done, failed
	DryRun     bool
	Total      int // import: lines of the file; export: subscribers of the list
	Done       int // of Total so far, updated in batches
	Stats      *subscribers.ImportStats
	Errors     []LineError // import: the bad lines (the first maxLineErrors)
	Error      string      // failed: why
	CreatedAt  time.Time
	FinishedAt time.Time
}

// LineError is one bad line of an import file.
type LineError struct {
	Line    int
	Problem string
}

// jobResult is what jobs.result holds (JSON).
type jobResult struct {
	Stats  *subscribers.ImportStats `json:"stats,omitempty"`
	Errors []LineError              `json:"errors,omitempty"`
	Error  string                   `json:"error,omitempty"`
	Erased bool                     `json:"erased,omitempty"`
}

const (
	// maxLineErrors bounds the per-line report a job keeps; Stats.Bad
	// still counts every bad line.
	maxLineErrors = 1000
	// jobStale is how long a running job may go without a heartbeat
	// before it is taken for the work of a dead process.
	jobStale = time.Minute
)

// jobBeat is how often a running job writes its progress and heartbeat
// (a variable so tests can watch progress on small files).
var jobBeat = 2 * time.Second

// process names this process in jobs.owner.
var process = func() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d:%d", host, os.Getpid(), time.Now().UnixNano())
}()

// Import imports subscribers into a list now, streaming r (the command
// line's sub import; StartImport runs the same in the background).
// report, when set, is told of each bad line; the good lines are imported
// all the same and the error is then subscribers.ErrBadRows.
func (s *Service) Import(ctx context.Context, a tidings.Actor, listSlug string, r io.Reader, req ImportRequest, report func(line int, err error)) (subscribers.ImportStats, error) {
	l, err := s.resolveList(ctx, a, listSlug, PermAdmin)
	if err != nil {
		return subscribers.ImportStats{}, err
	}
	if err := s.checkTopics(ctx, l, req.DefaultTopics); err != nil {
		return subscribers.ImportStats{}, err
	}
	if err := s.audit(ctx, a, auditEntry{Action: "subscribers.import", ObjectKind: "list", ObjectID: l.Slug, ListID: l.ID,
		Detail: map[string]any{"dry_run": req.DryRun, "topics": req.DefaultTopics.JSON()}}); err != nil {
		return subscribers.ImportStats{}, err
	}
	st, err := s.store().Import(ctx, r, subscribers.ImportOptions{ListID: l.ID, DefaultTopics: req.DefaultTopics, DryRun: req.DryRun, Report: report})
	if err != nil && !errors.Is(err, subscribers.ErrBadRows) {
		return st, mapStore(err, "file", func(msg string) string {
			if strings.HasPrefix(msg, "unknown topic") {
				return "topics"
			}
			return "file"
		})
	}
	return st, err
}

// checkTopics refuses a default topic choice naming a topic the list
// lacks, before anything starts.
func (s *Service) checkTopics(ctx context.Context, l *tidings.List, c subscribers.TopicChoice) error {
	for _, slug := range c.Slugs {
		_, err := s.store().Topic(ctx, l.ID, slug)
		if errors.Is(err, subscribers.ErrNotFound) {
			return s.unknownTopic(ctx, l, "topics", slug)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// unknownTopic is the error for a topic slug list l lacks, in field,
// worded as the store words it (naming the topics there are).
func (s *Service) unknownTopic(ctx context.Context, l *tidings.List, field, slug string) error {
	ts, err := s.store().PublicTopics(ctx, l.ID)
	if err != nil {
		return err
	}
	var known []string
	for _, t := range ts {
		known = append(known, t.Slug)
	}
	if len(known) == 0 {
		return plainInvalid(field, "unknown topic %q: the list has no topics yet", slug)
	}
	sort.Strings(known)
	return plainInvalid(field, "unknown topic %q (known: %s)", slug, strings.Join(known, ", "))
}

// StartImport starts importing data into a list in the background
// (admin). The job's progress, counts and per-line errors are read with
// Job; with DryRun nothing is written.
func (s *Service) StartImport(ctx context.Context, a tidings.Actor, listSlug string, data []byte, r ImportRequest) (*Job, error) {
	l, err := s.resolveList(ctx, a, listSlug, PermAdmin)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, Invalid("file", "the file is empty")
	}
	if err := s.checkTopics(ctx, l, r.DefaultTopics); err != nil {
		return nil, err
	}
	total := bytes.Count(data, []byte{'\n'})
	if data[len(data)-1] != '\n' {
		total++
	}
	id, err := s.newJob(ctx, a, l, "import", "", r.DryRun, total, map[string]any{"dry_run": r.DryRun, "topics": r.DefaultTopics.JSON(), "bytes": len(data)})
	if err != nil {
		return nil, err
	}
	in := &progressReader{r: bytes.NewReader(data), data: data}
	s.runJob(ctx, id, in.linesRead, func(ctx context.Context) (jobResult, []byte, error) {
		var res jobResult
		st, err := s.store().Import(ctx, in, subscribers.ImportOptions{ListID: l.ID, DefaultTopics: r.DefaultTopics, DryRun: r.DryRun,
			Report: func(line int, err error) {
				if len(res.Errors) < maxLineErrors {
					res.Errors = append(res.Errors, LineError{Line: line, Problem: err.Error()})
				}
			}})
		res.Stats = &st
		if errors.Is(err, subscribers.ErrBadRows) {
			err = nil // reported line by line; the good lines are in
		}
		return res, nil, err
	})
	return s.Job(ctx, a, id)
}

// StartExport starts exporting a list in the background (admin); the
// file is read with JobOutput once the job is done.
func (s *Service) StartExport(ctx context.Context, a tidings.Actor, listSlug, format string) (*Job, error) {
	l, err := s.resolveList(ctx, a, listSlug, PermAdmin)
	if err != nil {
		return nil, err
	}
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "json" {
		return nil, Invalid("format", "%q: want csv or json", format)
	}
	var total int
	if err := s.d.R.QueryRowContext(ctx, "SELECT count(*) FROM subscriptions WHERE list_id = ?", l.ID).Scan(&total); err != nil {
		return nil, fmt.Errorf("export %s: %w", l.Slug, err)
	}
	id, err := s.newJob(ctx, a, l, "export", format, false, total, map[string]any{"format": format})
	if err != nil {
		return nil, err
	}
	out := &lineCounter{}
	s.runJob(ctx, id, out.lines, func(ctx context.Context) (jobResult, []byte, error) {
		err := s.store().Export(ctx, out, l.ID, format)
		return jobResult{}, out.buf.Bytes(), err
	})
	return s.Job(ctx, a, id)
}

// newJob stores a running job with its audit entry, in one transaction.
func (s *Service) newJob(ctx context.Context, a tidings.Actor, l *tidings.List, kind, format string, dry bool, total int, detail any) (int64, error) {
	if err := s.RecoverJobs(ctx); err != nil {
		return 0, err
	}
	var id int64
	err := s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		now := db.Unix(s.now())
		res, err := tx.ExecContext(ctx, `INSERT INTO jobs (kind, list_id, state, dry_run, total, actor, created_at, owner, beat_at, format)
			VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)`, kind, l.ID, dry, total, a.String(), now, process, now, format)
		if err != nil {
			return fmt.Errorf("%s job: %w", kind, err)
		}
		if id, err = res.LastInsertId(); err != nil {
			return err
		}
		return s.record(ctx, tx, a, auditEntry{Action: "subscribers." + kind, ObjectKind: "job", ObjectID: strconv.FormatInt(id, 10), ListID: l.ID, Detail: detail})
	})
	return id, err
}

// runJob runs work in a goroutine of this process, writing progress and
// a heartbeat every jobBeat, then the result. The job outlives the
// request that started it, so it runs on a context without its cancel.
func (s *Service) runJob(ctx context.Context, id int64, progress func() int, work func(context.Context) (jobResult, []byte, error)) {
	ctx = context.WithoutCancel(ctx)
	beat := jobBeat
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		t := time.NewTicker(beat)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if _, err := s.d.W.ExecContext(ctx, "UPDATE jobs SET done = ?, beat_at = ? WHERE id = ? AND state = 'running'",
					progress(), db.Unix(s.now()), id); err != nil {
					s.log.Warn("job progress", "job", id, "err", err)
				}
			}
		}
	}()
	go func() {
		defer wg.Done()
		res, output, err := work(ctx)
		close(done)
		state := "done"
		if err != nil {
			state, res.Error = "failed", err.Error()
			output = nil
			s.log.Error("job failed", "job", id, "err", err)
		}
		b, _ := json.Marshal(res)
		// Done: every line or row; failed: as far as it got.
		if _, err := s.d.W.ExecContext(ctx, `UPDATE jobs SET state = ?1, done = CASE WHEN ?1 = 'done' THEN total ELSE ?2 END,
			result = ?3, output = ?4, finished_at = ?5, beat_at = ?5 WHERE id = ?6`,
			state, progress(), string(b), output, db.Unix(s.now()), id); err != nil {
			s.log.Error("job result", "job", id, "err", err)
		}
	}()
	s.jobs.Add(1)
	go func() {
		wg.Wait()
		s.jobs.Done()
	}()
}

// WaitJobs waits until the jobs this service started have finished (serve
// at shutdown, tests).
func (s *Service) WaitJobs() { s.jobs.Wait() }

// RecoverJobs marks failed the jobs whose process stopped while running
// them (no heartbeat for a minute). Job and the Start operations call it;
// serve may call it at start.
func (s *Service) RecoverJobs(ctx context.Context) error {
	now := s.now()
	stale := db.Unix(now.Add(-jobStale))
	// Look first on a reader: the console polls Job every second or so,
	// and a write each time would queue behind a running import's batches.
	var one int
	err := s.d.R.QueryRowContext(ctx, "SELECT 1 FROM jobs WHERE state IN ('queued', 'running') AND beat_at < ? LIMIT 1", stale).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("recover jobs: %w", err)
	}
	b, _ := json.Marshal(jobResult{Error: "the process running the job stopped before it finished; start it again"})
	_, err = s.d.W.ExecContext(ctx, `UPDATE jobs SET state = 'failed', result = ?, finished_at = ?
		WHERE state IN ('queued', 'running') AND beat_at < ?`, string(b), db.Unix(now), stale)
	if err != nil {
		return fmt.Errorf("recover jobs: %w", err)
	}
	return nil
}

// Job reads a job's progress and result (admin of the job's list; a job
// of a list the actor may not see is ErrNotFound).
func (s *Service) Job(ctx context.Context, a tidings.Actor, id int64) (*Job, error) {
	if err := authorize(a, PermView, 0); err != nil {
		return nil, err
	}
	if err := s.RecoverJobs(ctx); err != nil {
		return nil, err
	}
	var j Job
	var listID, created int64
	var finished sql.NullInt64
	var result string
	err := s.d.R.QueryRowContext(ctx, `SELECT j.id, j.kind, j.list_id, l.slug, j.state, j.dry_run, j.total, j.done, j.result, j.created_at, j.finished_at
		FROM jobs j JOIN lists l ON l.id = j.list_id WHERE j.id = ?`, id).
		Scan(&j.ID, &j.Kind, &listID, &j.ListSlug, &j.State, &j.DryRun, &j.Total, &j.Done, &result, &created, &finished)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !a.MayList(listID) {
		return nil, fmt.Errorf("job %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("job %d: %w", id, err)
	}
	if err := authorize(a, PermAdmin, listID); err != nil {
		return nil, err
	}
	j.CreatedAt = db.Time(created)
	if finished.Valid {
		j.FinishedAt = db.Time(finished.Int64)
	}
	if result != "" {
		var res jobResult
		if err := json.Unmarshal([]byte(result), &res); err != nil {
			return nil, fmt.Errorf("job %d: result: %w", id, err)
		}
		j.Stats, j.Errors, j.Error = res.Stats, res.Errors, res.Error
		if res.Erased {
			j.Error = "its file or report named a person who was erased since"
		}
	}
	if j.Errors == nil {
		j.Errors = []LineError{}
	}
	return &j, nil
}

// JobOutput writes a finished export to w.
func (s *Service) JobOutput(ctx context.Context, a tidings.Actor, id int64, w io.Writer) (contentType string, err error) {
	j, err := s.Job(ctx, a, id)
	if err != nil {
		return "", err
	}
	if j.Kind != "export" || j.State != "done" {
		return "", fmt.Errorf("job %d is a %s job, %s: only a finished export has a file: %w", id, j.Kind, j.State, ErrConflict)
	}
	var out []byte
	var format string
	if err := s.d.R.QueryRowContext(ctx, "SELECT output, format FROM jobs WHERE id = ?", id).Scan(&out, &format); err != nil {
		return "", fmt.Errorf("job %d: %w", id, err)
	}
	if out == nil {
		return "", fmt.Errorf("job %d: its file was erased: %w", id, ErrNotFound)
	}
	if _, err := w.Write(out); err != nil {
		return "", fmt.Errorf("job %d: %w", id, err)
	}
	if format == "json" {
		return "application/json", nil
	}
	return "text/csv; charset=utf-8", nil
}

// Export writes a list's subscribers to w now, streaming (admin; the
// command line's sub export).
func (s *Service) Export(ctx context.Context, a tidings.Actor, listSlug, format string, w io.Writer) error {
	l, err := s.resolveList(ctx, a, listSlug, PermAdmin)
	if err != nil {
		return err
	}
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "json" {
		return Invalid("format", "%q: want csv or json", format)
	}
	if err := s.audit(ctx, a, auditEntry{Action: "subscribers.export", ObjectKind: "list", ObjectID: l.Slug, ListID: l.ID,
		Detail: map[string]string{"format": format}}); err != nil {
		return err
	}
	return mapStore(s.store().Export(ctx, w, l.ID, format), "format", nil)
}

// progressReader reads an import's data and tells how many lines of it
// were read so far. It seeks, so the import checks the encoding of the
// whole file as it does for a file on disk.
type progressReader struct {
	r    *bytes.Reader
	data []byte
	pos  atomic.Int64
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.pos.Store(int64(len(p.data) - p.r.Len()))
	return n, err
}

func (p *progressReader) Seek(off int64, whence int) (int64, error) {
	n, err := p.r.Seek(off, whence)
	p.pos.Store(n)
	return n, err
}

func (p *progressReader) linesRead() int {
	pos := int(p.pos.Load())
	n := bytes.Count(p.data[:pos], []byte{'\n'})
	if pos == len(p.data) && pos > 0 && p.data[pos-1] != '\n' {
		n++
	}
	return n
}

// lineCounter collects an export and counts its lines: one a subscriber
// (names hold no line breaks), after the header line or the '['.
type lineCounter struct {
	mu  sync.Mutex
	buf bytes.Buffer
	n   int
}

func (c *lineCounter) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n += bytes.Count(b, []byte{'\n'})
	return c.buf.Write(b)
}

func (c *lineCounter) lines() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return max(c.n-1, 0)
}
