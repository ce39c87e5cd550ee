package mailer

import (
	"fmt"
	"sync"

	gosmtp "github.com/wneessen/go-mail/smtp"
)

// BareSend sends n pre-built messages (msgs round-robin) over conns
// connections with the bare go-mail/smtp client: MAIL, RCPT, DATA per
// message, nothing else. It is the yardstick the benchmarks compare the
// engine with (scripts/bench-send.sh).
func BareSend(addr string, conns, n int, msgs [][]byte) error {
	var wg sync.WaitGroup
	errs := make([]error, conns)
	for w := 0; w < conns; w++ {
		count := n / conns
		if w < n%conns {
			count++
		}
		wg.Go(func() {
			c, err := gosmtp.Dial(addr)
			if err != nil {
				errs[w] = err
				return
			}
			defer c.Close()
			if err := c.Hello("bench.localhost"); err != nil {
				errs[w] = err
				return
			}
			for i := 0; i < count; i++ {
				if err := c.Mail("<bounces@example.org>"); err != nil {
					errs[w] = err
					return
				}
				if err := c.Rcpt(fmt.Sprintf("<r%d.%d@example.com>", w, i)); err != nil {
					errs[w] = err
					return
				}
				wc, err := c.Data()
				if err != nil {
					errs[w] = err
					return
				}
				if _, err := wc.Write(msgs[(i*conns+w)%len(msgs)]); err != nil {
					errs[w] = err
					return
				}
				if err := wc.Close(); err != nil {
					errs[w] = err
					return
				}
			}
			errs[w] = c.Quit()
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
