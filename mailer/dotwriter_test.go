package mailer

import (
	"bufio"
	"bytes"
	"io"
	"net/textproto"
	"testing"

	"github.com/tidings/tidings/smtpsink"
)

// The bulk dot-stuffer must produce exactly what textproto's DotWriter does.
func TestWriteDotStuffedMatchesDotWriter(t *testing.T) {
	for _, msg := range []string{
		"",
		"Subject: x\r\n\r\nbody\r\n",
		".starts with a dot\r\n",
		"a\r\n.\r\n..\r\n.x\r\nend",
		"no final newline",
		"a\r\n\r\n.\r\n",
		"\r\n.",
	} {
		var want, got bytes.Buffer
		dw := textproto.NewWriter(bufio.NewWriter(&want)).DotWriter()
		io.WriteString(dw, msg)
		dw.Close()
		bw := bufio.NewWriter(&got)
		if !crlfOnly([]byte(msg)) {
			t.Fatalf("%q: not CRLF-only", msg)
		}
		if err := writeDotStuffed(bw, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		bw.Flush()
		if got.String() != want.String() {
			t.Errorf("%q:\n got %q\nwant %q", msg, got.String(), want.String())
		}
	}
	if crlfOnly([]byte("a\nb\r\n")) {
		t.Error("bare LF not detected")
	}
}

// A message with bare LF line breaks still goes out (through go-mail's
// DotWriter, which turns them into CRLF), and a dot-led line survives.
func TestSendBareLFAndDotLines(t *testing.T) {
	sink := startSink(t, smtpsink.Options{})
	s := NewOneOff([]Relay{sinkRelay(t, sink)}, OneOffOptions{})
	for _, msg := range []string{"Subject: lf\n\n.dot\nhi\n", "Subject: crlf\r\n\r\n.dot\r\nhi\r\n"} {
		if err := s.SendMail(testCtx(t), "a@example.org", []string{"b@example.com"}, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range sink.Messages() {
		if !bytes.Contains(m.Data, []byte("\r\n.dot\r\nhi\r\n")) {
			t.Errorf("received %q", m.Data)
		}
	}
	if sink.Count() != 2 {
		t.Errorf("sink %d", sink.Count())
	}
}
