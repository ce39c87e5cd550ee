package ops

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/subscribers"
)

// waitJob polls a job until it is no longer running.
func waitJob(t *testing.T, e *peopleEnv, id int64) *Job {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		j, err := e.s.Job(e.ctx, e.admin, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != "running" && j.State != "queued" {
			return j
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("job %d still running", id)
	return nil
}

const importCSV = "email,name,topics,status\n" +
	"ann@example.org,安,ai;chips,confirmed\n" +
	"not-an-address,Bo,,\n" +
	"cy@example.org,Cy,space,unsubscribed\n" +
	"ANN@example.org,dup,,\n" +
	"dee@example.org,,misc,\n" +
	"eve@example.org,Eve,,\n"

func TestImportJobDryRunThenForReal(t *testing.T) {
	e := newPeopleEnv(t)
	j, err := e.s.StartImport(e.ctx, e.admin, "keji", []byte(importCSV), ImportRequest{DefaultTopics: subscribers.TopicChoice{Slugs: []string{"ai"}}, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if j.Kind != "import" || !j.DryRun || j.ListSlug != "keji" || j.Total != 7 {
		t.Errorf("started job = %+v", j)
	}
	a := e.lastAudit(t)
	if a.action != "subscribers.import" || a.objKind != "job" || a.objID != fmt.Sprint(j.ID) || a.list != e.keji.ID {
		t.Errorf("audit = %+v", a)
	}
	j = waitJob(t, e, j.ID)
	if j.State != "done" || j.Done != j.Total || j.Stats == nil || j.Stats.Added != 3 || j.Stats.Bad != 3 {
		t.Fatalf("dry run = %+v stats %+v", j, j.Stats)
	}
	var lines []string
	for _, le := range j.Errors {
		lines = append(lines, fmt.Sprint(le.Line))
	}
	if strings.Join(lines, ",") != "3,5,6" {
		t.Errorf("bad lines = %+v, want 3 (address), 5 (repeat), 6 (unknown topic)", j.Errors)
	}
	if !strings.Contains(j.Errors[0].Problem, "not-an-address") || !strings.Contains(j.Errors[2].Problem, "misc") {
		t.Errorf("problems = %+v", j.Errors)
	}
	if n := e.count(t, "SELECT count(*) FROM subscribers"); n != 0 {
		t.Fatalf("a dry run stored %d people", n)
	}

	j, err = e.s.StartImport(e.ctx, e.admin, "keji", []byte(importCSV), ImportRequest{DefaultTopics: subscribers.TopicChoice{Slugs: []string{"ai"}}})
	if err != nil {
		t.Fatal(err)
	}
	j = waitJob(t, e, j.ID)
	if j.State != "done" || j.Stats.Added != 3 || len(j.Errors) != 3 {
		t.Fatalf("import = %+v", j)
	}
	page, err := e.s.Subscribers(e.ctx, e.admin, "keji", SubscriberQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range page.Rows {
		got = append(got, fmt.Sprintf("%s %s %s %v%v", r.Email, r.Name, r.Status, r.AllTopics, r.Topics))
	}
	want := "ann@example.org 安 confirmed false[ai chips]|cy@example.org Cy unsubscribed false[space]|eve@example.org Eve confirmed false[ai]"
	if strings.Join(got, "|") != want {
		t.Errorf("stored =\n%s\nwant\n%s", strings.Join(got, "|"), want)
	}
}

func TestImportJobShowsProgressInBatches(t *testing.T) {
	old := jobBeat
	jobBeat = 10 * time.Millisecond
	t.Cleanup(func() { jobBeat = old })
	e := newPeopleEnv(t)
	var b bytes.Buffer
	const n = 60000
	for i := range n {
		fmt.Fprintf(&b, "reader%d@example.org,Reader %d\n", i, i)
	}
	j, err := e.s.StartImport(e.ctx, e.admin, "keji", b.Bytes(), ImportRequest{DefaultTopics: subscribers.AllTopics})
	if err != nil {
		t.Fatal(err)
	}
	if j.Total != n {
		t.Fatalf("total = %d, want %d", j.Total, n)
	}
	between := 0
	for {
		j, err = e.s.Job(e.ctx, e.admin, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if j.State != "running" {
			break
		}
		if j.Done > 0 && j.Done < j.Total {
			between++
		}
		time.Sleep(2 * time.Millisecond)
	}
	if j.State != "done" || j.Done != n || j.Stats.Added != n {
		t.Fatalf("job = %+v stats %+v", j, j.Stats)
	}
	if between == 0 {
		t.Error("no progress was seen between start and end")
	}
}

func TestExportJobReimportsToTheSameState(t *testing.T) {
	for _, format := range []string{"csv", "json"} {
		t.Run(format, func(t *testing.T) {
			src := newPeopleEnv(t)
			seedPeople(t, src.d, src.keji, 0, 300)
			if _, err := src.s.AddSubscriber(src.ctx, src.admin, "keji", "zh@example.org", "王小明, \"小王\"", subscribers.TopicChoice{}); err != nil {
				t.Fatal(err)
			}
			j, err := src.s.StartExport(src.ctx, src.admin, "keji", format)
			if err != nil {
				t.Fatal(err)
			}
			if a := src.lastAudit(t); a.action != "subscribers.export" || a.objID != fmt.Sprint(j.ID) {
				t.Errorf("audit = %+v", a)
			}
			j = waitJob(t, src, j.ID)
			if j.State != "done" || j.Total != 301 || j.Done != 301 {
				t.Fatalf("export = %+v", j)
			}
			var out bytes.Buffer
			ct, err := src.s.JobOutput(src.ctx, src.admin, j.ID, &out)
			if err != nil {
				t.Fatal(err)
			}
			if wantCT := map[string]string{"csv": "text/csv; charset=utf-8", "json": "application/json"}[format]; ct != wantCT {
				t.Errorf("content type %q, want %q", ct, wantCT)
			}
			// The same file as the command line's export writes.
			var direct bytes.Buffer
			if err := src.s.Export(src.ctx, src.admin, "keji", format, &direct); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), direct.Bytes()) {
				t.Fatal("job output differs from a direct export")
			}

			dst := newPeopleEnv(t)
			ij, err := dst.s.StartImport(dst.ctx, dst.admin, "keji", out.Bytes(), ImportRequest{DefaultTopics: subscribers.AllTopics})
			if err != nil {
				t.Fatal(err)
			}
			if ij = waitJob(t, dst, ij.ID); ij.State != "done" || ij.Stats.Bad != 0 || ij.Stats.Added != 301 {
				t.Fatalf("re-import = %+v %+v", ij, ij.Stats)
			}
			var again bytes.Buffer
			if err := dst.s.Export(dst.ctx, dst.admin, "keji", format, &again); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again.Bytes(), out.Bytes()) {
				t.Errorf("re-imported list exports differently:\n%.400s\nvs\n%.400s", again.String(), out.String())
			}
		})
	}
}

func TestJobsAreTheAdmins(t *testing.T) {
	e := newPeopleEnv(t)
	data := []byte("ann@example.org\n")
	_, err := e.s.StartImport(e.ctx, e.editor, "keji", data, ImportRequest{DefaultTopics: subscribers.AllTopics})
	wantErr(t, err, ErrForbidden)
	_, err = e.s.StartExport(e.ctx, e.editor, "keji", "csv")
	wantErr(t, err, ErrForbidden)
	wantErr(t, e.s.Export(e.ctx, e.editor, "keji", "csv", &bytes.Buffer{}), ErrForbidden)
	_, err = e.s.StartImport(e.ctx, e.otherAdmin, "keji", data, ImportRequest{DefaultTopics: subscribers.AllTopics})
	wantErr(t, err, ErrForbidden)
	if n := e.count(t, "SELECT count(*) FROM jobs"); n != 0 {
		t.Fatalf("%d jobs after refusals", n)
	}
	// Bad input names its field and starts nothing.
	_, err = e.s.StartImport(e.ctx, e.admin, "keji", []byte(" \n"), ImportRequest{})
	wantField(t, err, "file")
	_, err = e.s.StartImport(e.ctx, e.admin, "keji", data, ImportRequest{DefaultTopics: subscribers.TopicChoice{Slugs: []string{"misc"}}})
	wantField(t, err, "topics")
	_, err = e.s.StartExport(e.ctx, e.admin, "keji", "xlsx")
	wantField(t, err, "format")
	wantField(t, e.s.Export(e.ctx, e.admin, "keji", "xml", &bytes.Buffer{}), "format")
	if n := e.count(t, "SELECT count(*) FROM jobs"); n != 0 {
		t.Fatalf("%d jobs after bad input", n)
	}

	j, err := e.s.StartImport(e.ctx, e.admin, "keji", data, ImportRequest{DefaultTopics: subscribers.AllTopics})
	if err != nil {
		t.Fatal(err)
	}
	waitJob(t, e, j.ID)
	_, err = e.s.Job(e.ctx, e.editor, j.ID)
	wantErr(t, err, ErrForbidden)
	// Someone who may not see the list does not learn the job exists.
	_, errOther := e.s.Job(e.ctx, e.stranger, j.ID)
	_, errNone := e.s.Job(e.ctx, e.stranger, j.ID+1000)
	wantErr(t, errOther, ErrNotFound)
	wantErr(t, errNone, ErrNotFound)
	// An import has no file to fetch.
	_, err = e.s.JobOutput(e.ctx, e.admin, j.ID, &bytes.Buffer{})
	wantErr(t, err, ErrConflict)
}

func TestJobLeftRunningByADeadProcessIsFailed(t *testing.T) {
	e := newPeopleEnv(t)
	now := db.Unix(e.clock)
	for _, beat := range []int64{now - 3600, now - 5} {
		if _, err := e.d.W.Exec(`INSERT INTO jobs (kind, list_id, state, total, created_at, owner, beat_at) VALUES ('import', ?, 'running', 10, ?, 'gone-host:1:1', ?)`,
			e.keji.ID, now-3600, beat); err != nil {
			t.Fatal(err)
		}
	}
	dead, err := e.s.Job(e.ctx, e.admin, 1)
	if err != nil {
		t.Fatal(err)
	}
	if dead.State != "failed" || !strings.Contains(dead.Error, "stopped") || dead.FinishedAt.IsZero() {
		t.Errorf("job of a dead process = %+v", dead)
	}
	alive, err := e.s.Job(e.ctx, e.admin, 2)
	if err != nil {
		t.Fatal(err)
	}
	if alive.State != "running" {
		t.Errorf("a job with a fresh heartbeat was failed: %+v", alive)
	}
	// A minute later without a beat it is failed too.
	e.clock = e.clock.Add(2 * time.Minute)
	if err := e.s.RecoverJobs(e.ctx); err != nil {
		t.Fatal(err)
	}
	if alive, _ = e.s.Job(e.ctx, e.admin, 2); alive.State != "failed" {
		t.Errorf("job = %+v", alive)
	}
}
