package subscribers

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"github.com/tidings/tidings"
	"github.com/tidings/tidings/db"
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

// fatalError stops an import (unlike a bad row, which is skipped).
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }

// csvRows returns an iterator over the data rows of CSV text: its line,
// the parsed row or why the row is bad, io.EOF at the end, or a
// *fatalError for a bad header or a read error.
//
// encoding/csv alone would read a stray quote ("Bo, Jr. without its
// closing quote) as the start of a cell running to the next quote or the
// end of the file, silently swallowing the good rows after it. So the
// text is cut into records here first (see lineSource), each parsed by
// encoding/csv on its own, and the lines after a record that fails to
// parse are read again as rows of their own.
func csvRows(br *bufio.Reader) func() (int, importRow, error) {
	src := &lineSource{br: br, next: 1}
	var text strings.Reader
	// csv.NewReader keeps a *bufio.Reader as it is, so Reset below hands it
	// exactly one record and drops whatever a failed parse left unread.
	rb := bufio.NewReaderSize(&text, 4096)
	cr := csv.NewReader(rb)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	cols := defaultColumns
	first := true
	var joined strings.Builder
	return func() (int, importRow, error) {
		for {
			lines, err := src.record()
			if errors.Is(err, io.EOF) {
				return 0, importRow{}, io.EOF
			}
			if err != nil {
				return 0, importRow{}, &fatalError{err}
			}
			line := lines[0].n
			if len(lines) == 1 {
				text.Reset(lines[0].s)
			} else {
				joined.Reset()
				for _, l := range lines {
					joined.WriteString(l.s)
				}
				text.Reset(joined.String())
			}
			rb.Reset(&text)
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				continue // an empty line
			}
			if err != nil {
				var pe *csv.ParseError
				if !errors.As(err, &pe) {
					return 0, importRow{}, &fatalError{fmt.Errorf("read csv: %w", err)}
				}
				first = false
				if len(lines) > 1 {
					src.unread(lines[1:])
					return line, importRow{}, errors.New("malformed CSV: a quote on this line opens a cell that is not closed (the lines after it are read on their own)")
				}
				return line, importRow{}, fmt.Errorf("malformed CSV: %v", pe.Err)
			}
			if first {
				first = false
				if c, ok, err := parseHeader(rec); ok {
					if err != nil {
						return 0, importRow{}, &fatalError{fmt.Errorf("line %d: %w", line, err)}
					}
					cols = c
					continue
				}
			}
			if blank(rec) {
				continue
			}
			row, err := parseRow(rec, cols)
			return line, row, err
		}
	}
}

// maxRecordLines bounds how far a quoted cell may run over line breaks
// before its quote is taken for a stray one. No cell may hold a line break
// anyway (such a row is reported bad), so the bound only keeps a typo from
// making one record of the rest of the file.
const maxRecordLines = 10

// maxLineBytes refuses files that are not line-oriented text at all.
const maxLineBytes = 1 << 20

type srcLine struct {
	n int    // 1-based line number in the file
	s string // the line with its line ending
}

// lineSource cuts CSV text into records: one line, or several when a
// quoted cell runs over line breaks (at most maxRecordLines). Lines given
// back with unread are handed out again before new ones are read.
type lineSource struct {
	br    *bufio.Reader
	next  int // number of the next line read from br
	queue []srcLine
	buf   []byte
}

func (s *lineSource) line() (srcLine, error) {
	if len(s.queue) > 0 {
		l := s.queue[0]
		s.queue = s.queue[1:]
		return l, nil
	}
	s.buf = s.buf[:0]
	for {
		frag, err := s.br.ReadSlice('\n')
		if len(s.buf)+len(frag) > maxLineBytes {
			return srcLine{}, invalidf("line %d is longer than %d bytes: not a CSV file of subscribers", s.next, maxLineBytes)
		}
		s.buf = append(s.buf, frag...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && (!errors.Is(err, io.EOF) || len(s.buf) == 0) {
			if !errors.Is(err, io.EOF) {
				err = fmt.Errorf("read csv: %w", err)
			}
			return srcLine{}, err
		}
		l := srcLine{n: s.next, s: string(s.buf)}
		s.next++
		return l, nil
	}
}

// record returns the lines of the next record; io.EOF at the end.
func (s *lineSource) record() ([]srcLine, error) {
	var lines []srcLine
	open := false
	for {
		l, err := s.line()
		if errors.Is(err, io.EOF) && len(lines) > 0 {
			return lines, nil // a quote still open at the end: csv reports it
		}
		if err != nil {
			return nil, err
		}
		lines = append(lines, l)
		open = quoteOpen(l.s, open)
		if !open || len(lines) == maxRecordLines {
			return lines, nil
		}
	}
}

// unread gives lines back to be handed out again, first.
func (s *lineSource) unread(lines []srcLine) {
	s.queue = append(append([]srcLine(nil), lines...), s.queue...)
}

// quoteOpen reports whether a quoted cell is still open at the end of
// line, given whether one was open at its start. It follows encoding/csv
// with TrimLeadingSpace: a quote opens a cell only at the start of a field
// (after blanks), "" inside is a quote, and a closing quote not followed by
// a comma ends the record on this line (csv reports that row as bad).
func quoteOpen(line string, open bool) bool {
	i := 0
	for {
		if !open {
			for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
				i++
			}
			if i >= len(line) || line[i] != '"' {
				j := strings.IndexByte(line[i:], ',')
				if j < 0 {
					return false
				}
				i += j + 1
				continue
			}
			open = true
			i++
		}
		j := strings.IndexByte(line[i:], '"')
		if j < 0 {
			return true
		}
		i += j + 1
		if i < len(line) && line[i] == '"' {
			i++ // "" is a quote inside the cell
			continue
		}
		open = false
		if i < len(line) && line[i] == ',' {
			i++
			continue
		}
		return false
	}
}

// jsonRows reads the JSON form of Export: an array of objects with keys
// email, name, status and topics (["all"], [] for none, or slugs). It
// decodes one object at a time and reports the line each one starts on.
func jsonRows(r io.Reader) func() (int, importRow, error) {
	lc := &lineCounter{r: r}
	dec := json.NewDecoder(lc)
	started := false
	return func() (int, importRow, error) {
		if !started {
			started = true
			if _, err := dec.Token(); err != nil { // the '['
				return 0, importRow{}, &fatalError{invalidf("json: %v", err)}
			}
		}
		if !dec.More() {
			if _, err := dec.Token(); err != nil { // the ']'
				return 0, importRow{}, &fatalError{invalidf("json: %v", err)}
			}
			return 0, importRow{}, io.EOF
		}
		var rec struct {
			Email  string    `json:"email"`
			Name   string    `json:"name"`
			Status string    `json:"status"`
			Topics *[]string `json:"topics"`
		}
		// The object starts after the comma and white space still buffered.
		line := lc.lineAt(dec.InputOffset())
		if rest, err := io.ReadAll(io.LimitReader(dec.Buffered(), 4096)); err == nil {
			lead := rest[:len(rest)-len(bytes.TrimLeft(rest, " \t\r\n,"))]
			line += bytes.Count(lead, []byte{'\n'})
		}
		err := dec.Decode(&rec)
		if err != nil {
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) {
				return line, importRow{}, fmt.Errorf("json: %v", err)
			}
			return 0, importRow{}, &fatalError{invalidf("json near line %d: %v", line, err)}
		}
		topics := ""
		if rec.Topics != nil {
			topics = "none"
			if len(*rec.Topics) > 0 {
				topics = strings.Join(*rec.Topics, ";")
			}
		}
		row, err := parseRow([]string{rec.Email, rec.Name, topics, rec.Status}, defaultColumns)
		return line, row, err
	}
}

// lineCounter passes bytes through and tells the line of a byte offset
// at or after the last one asked, counting newlines as it goes.
type lineCounter struct {
	r       io.Reader
	pending []byte // read but not yet counted
	off     int64  // offset of pending[0]
	line    int    // line at off, 1-based
}

func (c *lineCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.pending = append(c.pending, p[:n]...)
	return n, err
}

func (c *lineCounter) lineAt(off int64) int {
	if c.line == 0 {
		c.line = 1
	}
	k := int(off - c.off)
	if k > len(c.pending) {
		k = len(c.pending)
	}
	if k > 0 {
		c.line += bytes.Count(c.pending[:k], []byte{'\n'})
		c.pending = append(c.pending[:0], c.pending[k:]...)
		c.off += int64(k)
	}
	return c.line
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
func decode(r io.Reader) (io.Reader, string, error) {
	if rs, ok := r.(io.ReadSeeker); ok {
		pos, err := rs.Seek(0, io.SeekCurrent)
		if err == nil {
			valid, err := validUTF8(rs)
			if err != nil {
				return nil, "", fmt.Errorf("read csv: %w", err)
			}
			if _, err := rs.Seek(pos, io.SeekStart); err != nil {
				return nil, "", fmt.Errorf("read csv: %w", err)
			}
			br := bufio.NewReaderSize(rs, 64<<10)
			return pick(br, valid)
		}
	}
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(64 << 10)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, "", fmt.Errorf("read csv: %w", err)
	}
	return pick(br, utf8.Valid(trimPartialRune(head)))
}

func pick(br *bufio.Reader, valid bool) (io.Reader, string, error) {
	head, _ := br.Peek(3)
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		br.Discard(3)
		return br, "UTF-8", nil
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}), bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return nil, "", invalidf("the file is UTF-16: save it as \"CSV UTF-8\" or as CSV")
	case valid:
		return br, "UTF-8", nil
	}
	return transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder()), "GB18030", nil
}

// trimPartialRune cuts an incomplete UTF-8 sequence off the end of b.
func trimPartialRune(b []byte) []byte {
	for i := 1; i <= 3 && i <= len(b); i++ {
		c := b[len(b)-i]
		if c < 0x80 {
			return b
		}
		if utf8.RuneStart(c) {
			if !utf8.FullRune(b[len(b)-i:]) {
				return b[:len(b)-i]
			}
			return b
		}
	}
	return b
}

func validUTF8(r io.Reader) (bool, error) {
	buf := make([]byte, 64<<10)
	carry := 0
	for {
		n, err := r.Read(buf[carry:])
		n += carry
		chunk := buf[:n]
		if errors.Is(err, io.EOF) {
			return utf8.Valid(chunk), nil
		}
		if err != nil {
			return false, err
		}
		whole := trimPartialRune(chunk)
		if !utf8.Valid(whole) {
			return false, nil
		}
		carry = copy(buf, chunk[len(whole):])
	}
}

// importWriter writes batches of rows, each in one transaction.
type importWriter struct {
	s      *Store
	listID int64
	dry    bool
	stats  *ImportStats
}

var errDryRun = errors.New("dry run")

func (w *importWriter) flush(ctx context.Context, batch []importRow, defAll bool, defIDs []int64) error {
	if len(batch) == 0 {
		return nil
	}
	var added, updated, unchanged int
	err := w.s.d.WriteTx(ctx, func(tx *sql.Tx) error {
		ps := &stmts{}
		defer ps.close()
		stmt := func(q string) (*sql.Stmt, error) { return ps.get(ctx, tx, q) }
		now := db.Unix(w.s.now())
		for _, row := range batch {
			res, err := w.upsert(ctx, stmt, row, now, defAll, defIDs)
			if err != nil {
				return fmt.Errorf("line %d: %w", row.line, err)
			}
			switch res {
			case rowAdded:
				added++
			case rowUpdated:
				updated++
			default:
				unchanged++
			}
		}
		if w.dry {
			return errDryRun
		}
		return nil
	})
	if err != nil && !errors.Is(err, errDryRun) {
		return fmt.Errorf("import: %w", err)
	}
	w.stats.Added += added
	w.stats.Updated += updated
	w.stats.Unchanged += unchanged
	return nil
}

// stmts prepares each statement once per transaction.
type stmts struct{ m map[string]*sql.Stmt }

func (p *stmts) get(ctx context.Context, tx *sql.Tx, q string) (*sql.Stmt, error) {
	if st, ok := p.m[q]; ok {
		return st, nil
	}
	st, err := tx.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if p.m == nil {
		p.m = map[string]*sql.Stmt{}
	}
	p.m[q] = st
	return st, nil
}

func (p *stmts) close() {
	for _, st := range p.m {
		st.Close()
	}
}

// exec and queryRow run a prepared statement, passing on a prepare error.
func exec(ctx context.Context, stmt func(string) (*sql.Stmt, error), q string, args ...any) (sql.Result, error) {
	st, err := stmt(q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func queryRow(ctx context.Context, stmt func(string) (*sql.Stmt, error), q string, args []any, dest ...any) error {
	st, err := stmt(q)
	if err != nil {
		return err
	}
	return st.QueryRowContext(ctx, args...).Scan(dest...)
}

type rowResult int

const (
	rowUnchanged rowResult = iota
	rowAdded
	rowUpdated
)

func (w *importWriter) upsert(ctx context.Context, stmt func(string) (*sql.Stmt, error), row importRow, now int64, defAll bool, defIDs []int64) (rowResult, error) {
	var id int64
	var curName string
	newPerson := false
	// Insert first and look up only on a conflict: a first import is mostly
	// new people, and this spares each of them a query (a third of the
	// import's time); a re-import pays one index probe more a row.
	res, err := exec(ctx, stmt, "INSERT INTO subscribers (email, email_key, name, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (email_key) DO NOTHING",
		row.email.Addr, row.email.Key, row.name, now)
	if err != nil {
		return 0, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return 0, err
	} else if n == 1 {
		if id, err = res.LastInsertId(); err != nil {
			return 0, err
		}
		newPerson = true
	} else if err := queryRow(ctx, stmt, "SELECT id, name FROM subscribers WHERE email_key = ?", []any{row.email.Key}, &id, &curName); err != nil {
		return 0, err
	}
	result := rowUnchanged
	if !newPerson && row.name != "" && row.name != curName {
		if _, err := exec(ctx, stmt, "UPDATE subscribers SET name = ? WHERE id = ?", row.name, id); err != nil {
			return 0, err
		}
		result = rowUpdated
	}

	var curStatus string
	var curAll bool
	exists := false
	if !newPerson {
		err := queryRow(ctx, stmt, "SELECT status, all_topics FROM subscriptions WHERE list_id = ? AND subscriber_id = ?",
			[]any{w.listID, id}, &curStatus, &curAll)
		switch {
		case err == nil:
			exists = true
		case !errors.Is(err, sql.ErrNoRows):
			return 0, err
		}
	}
	if !exists {
		status, all, ids := row.status, defAll, defIDs
		if status == "" {
			status = tidings.StatusConfirmed
		}
		if row.topics != nil {
			all, ids = row.topics.All, row.ids
		}
		if _, err := exec(ctx, stmt, `INSERT INTO subscriptions (list_id, subscriber_id, status, all_topics, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`, w.listID, id, string(status), all, now, now); err != nil {
			return 0, err
		}
		for _, tid := range ids {
			if _, err := exec(ctx, stmt, "INSERT INTO subscription_topics (list_id, subscriber_id, topic_id) VALUES (?, ?, ?)", w.listID, id, tid); err != nil {
				return 0, err
			}
		}
		return rowAdded, nil
	}

	// Existing subscription: change only what the row states and differs.
	status, all := curStatus, curAll
	if row.status != "" {
		status = string(row.status)
	}
	topicsChanged := false
	if row.topics != nil {
		all = row.topics.All
		cur, err := w.currentTopicIDs(ctx, stmt, id)
		if err != nil {
			return 0, err
		}
		topicsChanged = !sameIDs(cur, row.ids)
	}
	if status == curStatus && all == curAll && !topicsChanged {
		return result, nil
	}
	if _, err := exec(ctx, stmt, "UPDATE subscriptions SET status = ?, all_topics = ?, updated_at = ? WHERE list_id = ? AND subscriber_id = ?",
		status, all, now, w.listID, id); err != nil {
		return 0, err
	}
	if topicsChanged {
		if _, err := exec(ctx, stmt, "DELETE FROM subscription_topics WHERE list_id = ? AND subscriber_id = ?", w.listID, id); err != nil {
			return 0, err
		}
		for _, tid := range row.ids {
			if _, err := exec(ctx, stmt, "INSERT INTO subscription_topics (list_id, subscriber_id, topic_id) VALUES (?, ?, ?)", w.listID, id, tid); err != nil {
				return 0, err
			}
		}
	}
	return rowUpdated, nil
}

func (w *importWriter) currentTopicIDs(ctx context.Context, stmt func(string) (*sql.Stmt, error), subID int64) (map[int64]bool, error) {
	st, err := stmt("SELECT topic_id FROM subscription_topics WHERE list_id = ? AND subscriber_id = ?")
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, w.listID, subID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cur := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		cur[id] = true
	}
	return cur, rows.Err()
}

func sameIDs(cur map[int64]bool, ids []int64) bool {
	if len(cur) != len(ids) {
		return false
	}
	for _, id := range ids {
		if !cur[id] {
			return false
		}
	}
	return true
}

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
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteString("[")
	n := 0
	err := s.EachSubscriber(ctx, f, func(p tidings.Subscriber, ss tidings.Subscription) error {
		b, err := json.Marshal(ExportRecord(p, ss))
		if err != nil {
			return err
		}
		if n > 0 {
			bw.WriteString(",")
		}
		n++
		bw.WriteString("\n  ")
		_, err = bw.Write(b)
		return err
	})
	if err != nil {
		return err
	}
	if n > 0 {
		bw.WriteString("\n")
	}
	bw.WriteString("]\n")
	return bw.Flush()
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
