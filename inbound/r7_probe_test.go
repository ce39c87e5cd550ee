package inbound

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestR7ProbeNesting(t *testing.T) {
	for _, depth := range []int{100, 1000, 10000} {
		var b strings.Builder
		b.WriteString("From: MAILER-DAEMON@x.example\r\nSubject: Undelivered\r\nMIME-Version: 1.0\r\n")
		for i := 0; i < depth; i++ {
			fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
		}
		b.WriteString("Content-Type: text/plain\r\n\r\n550 5.1.1 x\r\n")
		start := time.Now()
		m, err := parseMessage([]byte(b.String()))
		if err == nil {
			classifyBounce(m)
			isComplaint(m)
			m.originalAddrs()
		}
		t.Logf("depth %d (%d bytes): %v, err %v", depth, b.Len(), time.Since(start), err)
	}
	// many parts
	var b strings.Builder
	b.WriteString("From: MAILER-DAEMON@x.example\r\nSubject: Undelivered\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n")
	for i := 0; i < 100000; i++ {
		b.WriteString("--b\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\n")
	}
	b.WriteString("--b--\r\n")
	start := time.Now()
	m, err := parseMessage([]byte(b.String()))
	if err == nil {
		t.Log(classifyBounce(m))
	}
	t.Logf("100k parts (%d bytes): %v, err %v", b.Len(), time.Since(start), err)
}
