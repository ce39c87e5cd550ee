package smtpsink_test

import (
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/tidings/tidings/smtpsink"
)

func TestSinkRecordsAndInjectsReplies(t *testing.T) {
	s, err := smtpsink.Start(smtpsink.Options{
		OnRcpt: func(from, to string) error {
			if strings.HasPrefix(to, "gone@") {
				return smtpsink.Reply(550, "5.1.1", "user unknown")
			}
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	msg := "Subject: hi\r\n\r\nhello\r\n"
	if err := smtp.SendMail(s.Addr, nil, "a@example.org", []string{"b@example.org"}, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	err = smtp.SendMail(s.Addr, nil, "a@example.org", []string{"gone@example.org"}, []byte(msg))
	if err == nil || !strings.Contains(err.Error(), "550") {
		t.Fatalf("want a 550, got %v", err)
	}
	if !s.Wait(1, time.Second) {
		t.Fatal("no message")
	}
	got := s.Messages()
	if len(got) != 1 || got[0].From != "a@example.org" || got[0].To[0] != "b@example.org" || !strings.Contains(string(got[0].Data), "hello") {
		t.Fatalf("messages = %+v", got)
	}
}

func TestSinkDropsMidData(t *testing.T) {
	s, err := smtpsink.Start(smtpsink.Options{OnData: func(string, []string, []byte) error { return smtpsink.ErrDrop }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = smtp.SendMail(s.Addr, nil, "a@example.org", []string{"b@example.org"}, []byte("Subject: x\r\n\r\nx\r\n"))
	if err == nil {
		t.Fatal("dropped connection reported success")
	}
	if s.Count() != 0 {
		t.Fatalf("count = %d", s.Count())
	}
}
