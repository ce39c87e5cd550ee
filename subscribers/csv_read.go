// csv_read.go cuts import files into rows: CSV records (robust to stray
// quotes and huge lines) and JSON arrays, with the line of each row.

package subscribers

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

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
