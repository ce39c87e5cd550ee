// csv.go holds the import of subscribers: options, statistics, the
// header and row rules, and Import itself.

package subscribers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"strings"

	"github.com/tidings/tidings"
)

// ImportOptions says where and how Import writes.
type ImportOptions struct {
	ListID int64
	// DefaultTopics are the topics of rows whose topics cell is empty or
	// missing, for people new to the list (the CLI passes AllTopics unless
	// --topics is given). Existing subscriptions keep their topics then.
	DefaultTopics TopicChoice
	// DryRun checks and counts everything and writes nothing.
	DryRun bool
	// Report is told of each bad row (1-based line of the file); the row
	// is skipped and the import goes on.
	Report func(line int, err error)
	// BatchSize is the number of rows per transaction (default 2000).
	BatchSize int
}

// ImportStats counts what an import did (or, dry, would do).
type ImportStats struct {
	Rows      int    // data rows read, bad ones included
	Added     int    // people put on the list
	Updated   int    // existing subscriptions (or names) changed
	Unchanged int    // rows that matched what was stored
	Bad       int    // rows reported and skipped
	Encoding  string // "UTF-8" or "GB18030"
}

// ErrBadRows is returned (wrapped, with the count) by Import when rows were
// skipped; the good rows are imported all the same.
var ErrBadRows = errors.New("bad rows")

type importRow struct {
	line   int
	email  tidings.Email
	name   string
	topics *TopicChoice // nil: the cell was empty
	ids    []int64
	status tidings.Status // "": the cell was empty
}

// column positions; -1 when absent.
type columns struct{ email, name, topics, status int }

var defaultColumns = columns{0, 1, 2, 3}

var headerAliases = map[string]string{
	"email": "email", "e-mail": "email", "mail": "email", "email address": "email", "address": "email",
	"邮箱": "email", "电子邮件": "email", "电子邮箱": "email", "邮件地址": "email", "邮箱地址": "email",
	"name": "name", "姓名": "name", "名字": "name", "称呼": "name",
	"topics": "topics", "topic": "topics", "主题": "topics", "话题": "topics", "栏目": "topics",
	"status": "status", "状态": "status",
}

// Import reads subscribers from CSV (columns email[,name[,topics[,status]]],
// header row optional, topics separated by ';', all or none) in UTF-8 with
// or without BOM, or GB18030/GBK as Excel writes it on Chinese Windows; a
// stream that starts with '[' is read as Export's JSON instead. The
// file is streamed and written in transactions of BatchSize rows with
// prepared statements. Bad rows (and repeats of an address within the
// file) go to Report and are skipped. A row equal to what is stored writes
// nothing, so importing a file twice changes nothing; an empty status or
// topics cell leaves an existing subscription's value alone, so an old file
// never re-confirms someone who unsubscribed since.
func (s *Store) Import(ctx context.Context, r io.Reader, opt ImportOptions) (ImportStats, error) {
	var st ImportStats
	if opt.BatchSize <= 0 {
		opt.BatchSize = 2000
	}
	report := func(line int, err error) {
		st.Bad++
		if opt.Report != nil {
			opt.Report(line, err)
		}
	}
	var listSlug string
	if err := s.d.R.QueryRowContext(ctx, "SELECT slug FROM lists WHERE id = ?", opt.ListID).Scan(&listSlug); err != nil {
		return st, listErr(fmt.Sprintf("#%d", opt.ListID), err)
	}
	topics, err := loadTopicSlugs(ctx, s.d.R, opt.ListID)
	if err != nil {
		return st, err
	}
	defIDs, err := topics.resolve(opt.DefaultTopics.Slugs)
	if err != nil {
		return st, err
	}

	text, enc, err := decode(r)
	if err != nil {
		return st, err
	}
	st.Encoding = enc
	br := bufio.NewReaderSize(text, 64<<10)
	var next func() (int, importRow, error)
	if firstNonSpace(br) == '[' {
		next = jsonRows(br)
	} else {
		next = csvRows(br)
	}

	w := &importWriter{s: s, listID: opt.ListID, dry: opt.DryRun, stats: &st}
	batch := make([]importRow, 0, opt.BatchSize)
	seed := maphash.MakeSeed()
	seen := map[uint64]int{} // hash of address key → first line; 8+8 bytes a row
	for {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		line, row, err := next()
		if errors.Is(err, io.EOF) {
			break
		}
		var fatal *fatalError
		if errors.As(err, &fatal) {
			return st, fatal.err
		}
		st.Rows++
		if err == nil && row.topics != nil {
			row.ids, err = topics.resolve(row.topics.Slugs)
		}
		if err != nil {
			report(line, err)
			continue
		}
		h := maphash.String(seed, row.email.Key)
		if prev, dup := seen[h]; dup {
			report(line, fmt.Errorf("duplicate address %s (first on line %d): skipped", row.email.Addr, prev))
			continue
		}
		seen[h] = line
		row.line = line
		batch = append(batch, row)
		if len(batch) == cap(batch) {
			if err := w.flush(ctx, batch, opt.DefaultTopics.All, defIDs); err != nil {
				return st, err
			}
			batch = batch[:0]
		}
	}
	if err := w.flush(ctx, batch, opt.DefaultTopics.All, defIDs); err != nil {
		return st, err
	}
	if st.Bad > 0 {
		return st, fmt.Errorf("%d %w", st.Bad, ErrBadRows)
	}
	return st, nil
}

// firstNonSpace peeks at the first byte that is not white space.
func firstNonSpace(br *bufio.Reader) byte {
	for n := 1; n <= 4096; n++ {
		b, err := br.Peek(n)
		if len(b) < n {
			return 0
		}
		if c := b[n-1]; c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return c
		}
		if err != nil {
			return 0
		}
	}
	return 0
}

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// parseHeader recognises a header row by its first cell naming a column.
func parseHeader(rec []string) (columns, bool, error) {
	if len(rec) == 0 {
		return columns{}, false, nil
	}
	if _, ok := headerAliases[strings.ToLower(strings.TrimSpace(rec[0]))]; !ok {
		return columns{}, false, nil
	}
	c := columns{-1, -1, -1, -1}
	for i, cell := range rec {
		name, ok := headerAliases[strings.ToLower(strings.TrimSpace(cell))]
		if !ok {
			return c, true, invalidf("unknown column %q in the header (want email, name, topics, status)", cell)
		}
		p := map[string]*int{"email": &c.email, "name": &c.name, "topics": &c.topics, "status": &c.status}[name]
		if *p >= 0 {
			return c, true, invalidf("column %q appears twice in the header", name)
		}
		*p = i
	}
	if c.email < 0 {
		return c, true, invalidf("the header has no email column")
	}
	return c, true, nil
}

func cell(rec []string, i int) string {
	if i < 0 || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

func parseRow(rec []string, c columns) (importRow, error) {
	var row importRow
	if c == defaultColumns && len(rec) > 4 {
		return row, fmt.Errorf("%d columns, want at most 4 (email,name,topics,status)", len(rec))
	}
	e, err := tidings.ParseEmail(cell(rec, c.email))
	if err != nil {
		return row, err
	}
	row.email = e
	row.name = cell(rec, c.name)
	if err := CheckName("name", row.name); err != nil {
		return row, err
	}
	if t := cell(rec, c.topics); t != "" {
		tc, err := ParseTopicChoice(t)
		if err != nil {
			return row, err
		}
		row.topics = &tc
	}
	if v := cell(rec, c.status); v != "" {
		st, err := tidings.ParseStatus(v)
		if err != nil {
			return row, err
		}
		row.status = st
	}
	return row, nil
}

// decode returns r as UTF-8 text. A UTF-8 BOM is dropped; a stream that is
// not valid UTF-8 is read as GB18030 (a superset of GBK and GB2312). A
// seekable input is checked whole; otherwise the first 64 KiB decide.
