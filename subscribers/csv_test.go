package subscribers_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/subscribers"
)

// onlyReader hides Seek, as stdin would.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

type report struct {
	lines []int
	msgs  []string
}

func (r *report) add(line int, err error) {
	r.lines = append(r.lines, line)
	r.msgs = append(r.msgs, fmt.Sprintf("%d: %v", line, err))
}

// dump is every subscription of list as "email|name|status|topics|updated".
func dump(t testing.TB, s *subscribers.Store, listID int64) []string {
	t.Helper()
	var out []string
	err := s.EachSubscriber(ctx, subscribers.Filter{ListID: listID}, func(p tidings.Subscriber, ss tidings.Subscription) error {
		out = append(out, fmt.Sprintf("%s|%s|%s|%s|%d", p.Email, p.Name, ss.Status, subscribers.ChoiceOf(ss), ss.UpdatedAt.Unix()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func gb18030(t testing.TB, s string) []byte {
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestImportEncodingsAndHeaders(t *testing.T) {
	const body = "wang@example.com,王芳,ai;chips,confirmed\nli@例子.中国,李雷,all,pending\nzhao@example.com,赵六,,\n"
	want := []string{
		"wang@example.com|王芳|confirmed|ai;chips",
		"li@xn--fsqu00a.xn--fiqs8s|李雷|pending|all",
		"zhao@example.com|赵六|confirmed|all",
	}
	tests := []struct {
		name string
		in   func(t testing.TB) io.Reader
		enc  string
	}{
		{"utf-8 no header", func(testing.TB) io.Reader { return strings.NewReader(body) }, "UTF-8"},
		{"utf-8 BOM header", func(testing.TB) io.Reader {
			return strings.NewReader("\uFEFFemail,name,topics,status\n" + body)
		}, "UTF-8"},
		{"chinese header, reordered", func(testing.TB) io.Reader {
			return strings.NewReader("姓名,邮箱,主题,状态\n王芳,wang@example.com,ai;chips,confirmed\n李雷,li@例子.中国,all,pending\n赵六,zhao@example.com,,\n")
		}, "UTF-8"},
		{"crlf and quotes", func(testing.TB) io.Reader {
			return strings.NewReader(strings.ReplaceAll("\"wang@example.com\",\"王芳\",\"ai;chips\",confirmed\nli@例子.中国,李雷,all,pending\n\nzhao@example.com,赵六,,\n,,,\n", "\n", "\r\n"))
		}, "UTF-8"},
		{"gb18030 file", func(t testing.TB) io.Reader { return bytes.NewReader(gb18030(t, "邮箱,姓名,主题,状态\n"+body)) }, "GB18030"},
		{"gb18030 stream", func(t testing.TB) io.Reader { return onlyReader{bytes.NewReader(gb18030(t, body))} }, "GB18030"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newStore(t)
			l := fixture(t, s)
			var rep report
			st, err := s.Import(ctx, tt.in(t), subscribers.ImportOptions{ListID: l.ID, DefaultTopics: subscribers.AllTopics, Report: rep.add})
			if err != nil {
				t.Fatalf("import: %v (%v)", err, rep.msgs)
			}
			if st.Added != 3 || st.Rows != 3 || st.Bad != 0 || st.Encoding != tt.enc {
				t.Errorf("stats %+v", st)
			}
			got := dump(t, s, l.ID)
			for i := range got {
				got[i] = got[i][:strings.LastIndexByte(got[i], '|')]
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("stored\n%q\nwant\n%q", got, want)
			}
		})
	}
}

func TestImportBadRows(t *testing.T) {
	s, _ := newStore(t)
	l := fixture(t, s)
	in := strings.Join([]string{
		"email,name,topics,status",         // 1
		"good1@example.com,One,ai,",        // 2
		"not-an-email,Bad,,",               // 3
		"good2@example.com,Two,sport,",     // 4 unknown topic
		"good3@example.com,Three,,maybe",   // 5 bad status
		"GOOD1@example.com,Again,,",        // 6 duplicate of 2
		`good4@example.com,Fo"ur,,`,        // 7 bare quote
		"good5@example.com,Five,all;ai,",   // 8 all mixed
		"good6@example.com,Six,chips,",     // 9
		"a@example.com\r\nBcc: x@y.com,,,", // 10 (CRLF ends the row: the next line is a bad address)
		"z@example.com,\"Multi\nLine\",,",  // 12-13: a line break inside a quoted name
	}, "\n") + "\n"
	var rep report
	st, err := s.Import(ctx, strings.NewReader(in), subscribers.ImportOptions{ListID: l.ID, DefaultTopics: subscribers.AllTopics, Report: rep.add})
	if !errors.Is(err, subscribers.ErrBadRows) {
		t.Fatalf("err %v, want ErrBadRows", err)
	}
	if !reflect.DeepEqual(rep.lines, []int{3, 4, 5, 6, 7, 8, 11, 12}) {
		t.Errorf("bad lines %v:\n%s", rep.lines, strings.Join(rep.msgs, "\n"))
	}
	for i, want := range []string{
		`3: email "not-an-email": not an address`,
		`4: unknown topic "sport" (known: ai, chips, space)`,
		`5: status "maybe"`,
		`6: duplicate address GOOD1@example.com (first on line 2)`,
		`7: malformed CSV`,
		`8: topics "all;ai"`,
		`11: email "Bcc: x@y.com"`,
		`12: name "Multi\nLine" contains a line break`,
	} {
		if i >= len(rep.msgs) || !strings.HasPrefix(rep.msgs[i], want) {
			t.Errorf("report %d: %q, want prefix %q", i, rep.msgs, want)
		}
	}
	if st.Added != 3 || st.Bad != 8 {
		t.Errorf("stats %+v", st)
	}
	if got := len(dump(t, s, l.ID)); got != 3 {
		t.Errorf("%d stored, want the 3 good rows", got)
	}
	// A header that names an unknown column stops the import before any row.
	_, err = s.Import(ctx, strings.NewReader("email,phone\nx@example.com,123\n"), subscribers.ImportOptions{ListID: l.ID})
	if !errors.Is(err, subscribers.ErrInvalid) || !strings.Contains(err.Error(), `line 1: unknown column "phone"`) {
		t.Errorf("unknown column: %v", err)
	}
	_, err = s.Import(ctx, bytes.NewReader([]byte{0xFF, 0xFE, 'a', 0}), subscribers.ImportOptions{ListID: l.ID})
	if !errors.Is(err, subscribers.ErrInvalid) || !strings.Contains(err.Error(), "UTF-16") {
		t.Errorf("utf-16: %v", err)
	}
	_, err = s.Import(ctx, strings.NewReader("x@example.com\n"), subscribers.ImportOptions{ListID: l.ID, DefaultTopics: subscribers.TopicChoice{Slugs: []string{"nope"}}})
	if !errors.Is(err, subscribers.ErrInvalid) || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown default topic: %v", err)
	}
}

func TestImportIdempotentAndDry(t *testing.T) {
	s, d := newStore(t)
	l := fixture(t, s)
	in := "a@example.com,A,ai;space,confirmed\nb@example.com,B,all,pending\nc@example.com,,none,\nd@example.com,D,,\n"
	opt := subscribers.ImportOptions{ListID: l.ID, DefaultTopics: subscribers.AllTopics, BatchSize: 3}

	dry := opt
	dry.DryRun = true
	st, err := s.Import(ctx, strings.NewReader(in), dry)
	if err != nil || st.Added != 4 {
		t.Fatalf("dry run: %+v, %v", st, err)
	}
	if got := dump(t, s, l.ID); len(got) != 0 {
		t.Fatalf("dry run wrote %q", got)
	}
	var people int
	d.R.QueryRow("SELECT count(*) FROM subscribers").Scan(&people)
	if people != 0 {
		t.Fatalf("dry run wrote %d people", people)
	}

	if st, err := s.Import(ctx, strings.NewReader(in), opt); err != nil || st.Added != 4 {
		t.Fatalf("first import: %+v, %v", st, err)
	}
	before := dump(t, s, l.ID)
	d.Now = func() time.Time { return time.Now().Add(time.Hour) }
	st, err = s.Import(ctx, strings.NewReader(in), opt)
	if err != nil || st.Unchanged != 4 || st.Added+st.Updated != 0 {
		t.Fatalf("second import: %+v, %v", st, err)
	}
	if after := dump(t, s, l.ID); !reflect.DeepEqual(before, after) {
		t.Errorf("re-import changed rows:\n%q\n%q", before, after)
	}

	// An unsubscribe since the first import survives the old file; a row
	// that states a status or topics changes them.
	a, _ := s.Get(ctx, "a@example.com")
	if err := s.Unsubscribe(ctx, l.ID, a.ID); err != nil {
		t.Fatal(err)
	}
	st, err = s.Import(ctx, strings.NewReader("a@example.com,A,,\nb@example.com,B,chips,confirmed\n"), opt)
	if err != nil || st.Unchanged != 1 || st.Updated != 1 {
		t.Fatalf("third import: %+v, %v", st, err)
	}
	got := dump(t, s, l.ID)
	if !strings.HasPrefix(got[0], "a@example.com|A|unsubscribed|ai;space|") || !strings.HasPrefix(got[1], "b@example.com|B|confirmed|chips|") {
		t.Errorf("after third import %q", got)
	}
}

func TestExportImportRoundTrip(t *testing.T) {
	s1, _ := newStore(t)
	l1 := fixture(t, s1)
	for i, c := range []struct {
		email, name string
		topics      subscribers.TopicChoice
		status      tidings.Status
	}{
		{"Wang.Fang@Example.com", "王芳", subscribers.TopicChoice{Slugs: []string{"ai", "chips"}}, tidings.StatusConfirmed},
		{"li@例子.中国", `Li "Lei", Jr.`, subscribers.AllTopics, tidings.StatusPending},
		{"none@example.com", "", subscribers.TopicChoice{}, tidings.StatusConfirmed},
		{"gone@example.com", "=cmd()", subscribers.TopicChoice{Slugs: []string{"space"}}, tidings.StatusUnsubscribed},
		{"bounce@example.com", "B", subscribers.AllTopics, tidings.StatusBounced},
		{"block@example.com", "C", subscribers.AllTopics, tidings.StatusBlocked},
	} {
		if _, err := s1.Subscribe(ctx, l1.ID, c.email, c.name, c.topics, c.status); err != nil {
			t.Fatalf("%d: %v", i, err)
		}
	}
	var csv1 bytes.Buffer
	if err := s1.Export(ctx, &csv1, l1.ID, "csv"); err != nil {
		t.Fatal(err)
	}

	s2, _ := newStore(t)
	l2 := fixture(t, s2)
	var rep report
	st, err := s2.Import(ctx, bytes.NewReader(csv1.Bytes()), subscribers.ImportOptions{ListID: l2.ID, DefaultTopics: subscribers.AllTopics, Report: rep.add})
	if err != nil || st.Added != 6 {
		t.Fatalf("import of export: %+v, %v %v", st, err, rep.msgs)
	}
	var csv2 bytes.Buffer
	if err := s2.Export(ctx, &csv2, l2.ID, "csv"); err != nil {
		t.Fatal(err)
	}
	if csv1.String() != csv2.String() {
		t.Errorf("export after round trip differs:\n%s\n---\n%s", csv1.String(), csv2.String())
	}
	if !strings.HasPrefix(csv1.String(), "email,name,topics,status\nWang.Fang@example.com,王芳,ai;chips,confirmed\n") {
		t.Errorf("csv export:\n%s", csv1.String())
	}

	var js bytes.Buffer
	if err := s2.Export(ctx, &js, l2.ID, "json"); err != nil {
		t.Fatal(err)
	}
	var recs []subscribers.Record
	if err := json.Unmarshal(js.Bytes(), &recs); err != nil {
		t.Fatalf("json export: %v\n%s", err, js.String())
	}
	if len(recs) != 6 || !reflect.DeepEqual(recs[1], subscribers.Record{Email: "li@xn--fsqu00a.xn--fiqs8s", Name: `Li "Lei", Jr.`, Status: "pending", Topics: []string{"all"}}) ||
		!reflect.DeepEqual(recs[2].Topics, []string{}) {
		t.Errorf("json records %+v", recs)
	}
	// The JSON export imports back too.
	s3, _ := newStore(t)
	l3j := fixture(t, s3)
	if st, err := s3.Import(ctx, bytes.NewReader(js.Bytes()), subscribers.ImportOptions{ListID: l3j.ID}); err != nil || st.Added != 6 {
		t.Fatalf("import of json export: %+v, %v", st, err)
	}
	var csv3 bytes.Buffer
	if err := s3.Export(ctx, &csv3, l3j.ID, "csv"); err != nil {
		t.Fatal(err)
	}
	if csv3.String() != csv1.String() {
		t.Errorf("json round trip differs:\n%s\n---\n%s", csv1.String(), csv3.String())
	}
	if err := s2.Export(ctx, &js, l2.ID, "xml"); !errors.Is(err, subscribers.ErrInvalid) {
		t.Errorf("bad format: %v", err)
	}
	var empty bytes.Buffer
	l3 := &tidings.List{Slug: "empty", Name: "E", From: "e@example.org"}
	s2.CreateList(ctx, l3)
	if err := s2.Export(ctx, &empty, l3.ID, "json"); err != nil || empty.String() != "[]\n" {
		t.Errorf("empty json export %q, %v", empty.String(), err)
	}
}

func TestImportJSONBadRecords(t *testing.T) {
	s, _ := newStore(t)
	l := fixture(t, s)
	in := `  [
  {"email":"a@example.com","name":"A","status":"confirmed","topics":["ai"]},
  {"email":"bad","name":"B"},
  {
    "email": "c@example.com",
    "topics": ["sport"]
  },
  {"email":"d@example.com","topics":"ai"},
  {"email":"e@example.com","topics":[]}, {"email":"A@example.com"}
]
`
	var rep report
	st, err := s.Import(ctx, strings.NewReader(in), subscribers.ImportOptions{ListID: l.ID, DefaultTopics: subscribers.AllTopics, Report: rep.add})
	if !errors.Is(err, subscribers.ErrBadRows) || st.Added != 2 || st.Bad != 4 {
		t.Fatalf("stats %+v, %v, %q", st, err, rep.msgs)
	}
	if !reflect.DeepEqual(rep.lines, []int{3, 4, 8, 9}) {
		t.Errorf("bad lines %v: %q", rep.lines, rep.msgs)
	}
	got := dump(t, s, l.ID)
	if len(got) != 2 || !strings.HasPrefix(got[1], "e@example.com||confirmed|none|") {
		t.Errorf("stored %q", got)
	}
	_, err = s.Import(ctx, strings.NewReader(`[{"email":"x@example.com"`), subscribers.ImportOptions{ListID: l.ID})
	if !errors.Is(err, subscribers.ErrInvalid) || !strings.Contains(err.Error(), "json") {
		t.Errorf("truncated json: %v", err)
	}
}
