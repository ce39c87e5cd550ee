// Command benchsend is the helper of scripts/bench-send.sh: a discard
// SMTP sink, a bulk subscriber generator, a runner that measures a child
// process (wall time, CPU seconds, peak RSS), and the bare SMTP client
// that tidings is compared with. It is a benchmark tool, not part of
// tidings.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/tidings/tidings/db"
	"github.com/tidings/tidings/mailer"
	"github.com/tidings/tidings/smtpsink"
)

// result is one measured run, as a JSON line.
type result struct {
	Label   string  `json:"label"`
	Msgs    int     `json:"msgs"`
	Seconds float64 `json:"seconds"`
	Rate    float64 `json:"msgs_per_s"`
	CPU     float64 `json:"cpu_s"`
	RSSMB   float64 `json:"peak_rss_mb"`
}

func (r result) String() string {
	return fmt.Sprintf("%-8s %8d msgs in %7.1f s = %7.0f msgs/s, CPU %6.1f s, peak RSS %6.1f MB", r.Label, r.Msgs, r.Seconds, r.Rate, r.CPU, r.RSSMB)
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: benchsend sink|seed|run|bare|report ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "sink":
		err = sink(os.Args[2:])
	case "seed":
		err = seed(os.Args[2:])
	case "run":
		err = run(os.Args[2:])
	case "bare":
		err = bare(os.Args[2:])
	case "report":
		err = report(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchsend:", err)
		os.Exit(1)
	}
}

// sink serves a discard SMTP server until SIGTERM/SIGINT, writing its
// address to -addr-file.
func sink(args []string) error {
	fs := flag.NewFlagSet("sink", flag.ExitOnError)
	addrFile := fs.String("addr-file", "", "write the listening address here")
	addr := fs.String("addr", "", "listen here (default a free loopback port); a relay taken out and back")
	every := fs.Duration("every", 0, "print the messages received so far at this interval (0 = never)")
	fs.Parse(args)
	s, err := smtpsink.Start(smtpsink.Options{Discard: true, Addr: *addr})
	if err != nil {
		return err
	}
	if err := os.WriteFile(*addrFile, []byte(s.Addr), 0o644); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *every > 0 {
		start := time.Now()
		t := time.NewTicker(*every)
		defer t.Stop()
	loop:
		for {
			select {
			case <-ctx.Done():
				break loop
			case <-t.C:
				fmt.Fprintf(os.Stderr, "sink %s: %5.1f s %d messages\n", s.Addr, time.Since(start).Seconds(), s.Count())
			}
		}
	}
	<-ctx.Done()
	fmt.Fprintf(os.Stderr, "sink: %d messages\n", s.Count())
	return s.Close()
}

// seed adds -n confirmed subscribers to the list with id -list.
func seed(args []string) error {
	fs := flag.NewFlagSet("seed", flag.ExitOnError)
	path := fs.String("db", os.Getenv("TIDINGS_DB"), "database")
	n := fs.Int("n", 100000, "subscribers")
	list := fs.Int64("list", 1, "list id")
	fs.Parse(args)
	ctx := context.Background()
	d, err := db.Open(ctx, *path)
	if err != nil {
		return err
	}
	defer d.Close()
	start := time.Now()
	if err := mailer.InsertSubscribers(ctx, d, *list, *n); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "seeded %d subscribers in %.1f s\n", *n, time.Since(start).Seconds())
	return nil
}

// run runs the command after "--", optionally interrupting it (SIGINT)
// after -stop-after, and prints its wall time, CPU seconds and peak RSS
// (getrusage of the child) with -n messages as a JSON line.
func run(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	label := fs.String("label", "tidings", "name in the report")
	n := fs.Int("n", 0, "messages the command sends")
	stopAfter := fs.Duration("stop-after", 0, "send SIGINT after this long (0 = let it finish)")
	fs.Parse(args)
	cmdArgs := fs.Args()
	if len(cmdArgs) == 0 {
		return fmt.Errorf("run: no command after --")
	}
	cmd := exec.Command(cmdArgs[0], cmdArgs[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	if *stopAfter > 0 {
		t := time.AfterFunc(*stopAfter, func() { cmd.Process.Signal(os.Interrupt) })
		defer t.Stop()
	}
	err := cmd.Wait()
	wall := time.Since(start).Seconds()
	if err != nil && *stopAfter == 0 {
		return fmt.Errorf("%v: %w", cmdArgs, err)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	r := result{Label: *label, Msgs: *n, Seconds: wall, Rate: float64(*n) / wall,
		CPU:   time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds(),
		RSSMB: float64(ru.Maxrss) / 1024}
	return json.NewEncoder(os.Stdout).Encode(r)
}

// bare sends the given .eml files round-robin, -n messages over -c
// connections, and measures itself.
func bare(args []string) error {
	fs := flag.NewFlagSet("bare", flag.ExitOnError)
	addr := fs.String("addr", "", "SMTP server")
	conns := fs.Int("c", 4, "connections")
	n := fs.Int("n", 100000, "messages")
	fs.Parse(args)
	var msgs [][]byte
	for _, f := range fs.Args() {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		msgs = append(msgs, b)
	}
	if len(msgs) == 0 {
		return fmt.Errorf("bare: no message files")
	}
	start := time.Now()
	if err := mailer.BareSend(*addr, *conns, *n, msgs); err != nil {
		return err
	}
	wall := time.Since(start).Seconds()
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	r := result{Label: "bare", Msgs: *n, Seconds: wall, Rate: float64(*n) / wall,
		CPU:   time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds(),
		RSSMB: float64(ru.Maxrss) / 1024}
	return json.NewEncoder(os.Stdout).Encode(r)
}

// report prints two results and the ratio of their rates.
func report(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("report: want TIDINGS.json BARE.json")
	}
	var rs [2]result
	for i, f := range args {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(b, &rs[i]); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		rs[i].Rate = float64(rs[i].Msgs) / rs[i].Seconds // msgs may have been corrected
	}
	fmt.Println(rs[0])
	fmt.Println(rs[1])
	fmt.Printf("tidings reaches %.0f%% of the bare client's rate (target ≥ 70%%)\n", 100*rs[0].Rate/rs[1].Rate)
	return nil
}
