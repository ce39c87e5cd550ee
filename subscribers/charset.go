// charset.go decides an import file's character set: UTF-8 (with or
// without a BOM) or GB18030, which Chinese spreadsheets still write.

package subscribers

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

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
