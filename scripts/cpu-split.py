#!/usr/bin/env python3
"""Split a CPU profile of a send into where the time goes.

    CPUPROFILE=/tmp/send.prof scripts/bench-send.sh 20000 16
    scripts/cpu-split.py /tmp/send.prof

Each sample goes to the category of the frame nearest the leaf that names
one: SQLite (the delivery log: claims, group commits, filling the log, all
through cgo), render (composing the tailored message, tokens, DKIM), SMTP
(the client, the dot-stuffing writer, socket reads and writes) or the Go
runtime (garbage collection, scheduler). Reads `go tool pprof -traces`.
"""
import re
import subprocess
import sys

CATEGORIES = [
    ("SQLite (delivery log)", r"go-sqlite3|database/sql|mailer\.\(\*writer\)|mailer\.\(\*logStore\)|db\.\(\*DB\)\.WriteTx|fillLog|subscribers\.\(\*Store\)\.Recipients"),
    ("render (compose, tokens, DKIM)", r"tidings/render|editionComposer|Compose|tidings/token|dkim|hmac|sha256"),
    ("SMTP (client, socket I/O)", r"smtpconn|go-smtp|net\.\(\*conn\)|net\.\(\*netFD\)|dotWriter|dotwriter|mailer\.\(\*smtpConn\)|bufio|textproto|mailer\.\(\*run\)\.deliver|internal/poll"),
    ("Go runtime (GC, scheduler)", r"runtime\.gc|runtime\.mallocgc|runtime\.schedule|runtime\.findRunnable|runtime\.mcall|runtime\.bgsweep|runtime\.bgscavenge"),
]
CATEGORIES = [(name, re.compile(rx)) for name, rx in CATEGORIES]
UNITS = {"s": 1e3, "ms": 1.0, "us": 1e-3, "µs": 1e-3, "ns": 1e-6}


def millis(v):
    m = re.fullmatch(r"([\d.]+)(s|ms|us|µs|ns)", v.strip())
    if not m:
        raise ValueError(v)
    return float(m.group(1)) * UNITS[m.group(2)]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: cpu-split.py PROFILE")
    out = subprocess.run(["go", "tool", "pprof", "-traces", sys.argv[1]],
                         capture_output=True, text=True, check=True).stdout
    totals, total = {}, 0.0
    for block in out.split("-----------+-------------------------------------------------------")[1:]:
        lines = [l for l in block.split("\n") if l.strip()]
        if not lines:
            continue
        first = lines[0].split(None, 1)
        try:
            v = millis(first[0])
        except ValueError:
            continue
        frames = [first[1]] + [l.strip() for l in lines[1:]]
        cat = "other"
        for f in frames:
            hit = [name for name, rx in CATEGORIES if rx.search(f)]
            if hit:
                cat = hit[0]
                break
        totals[cat] = totals.get(cat, 0.0) + v
        total += v
    if total == 0:
        sys.exit("no samples in " + sys.argv[1])
    for cat, v in sorted(totals.items(), key=lambda kv: -kv[1]):
        print(f"{cat:32} {v / 1000:6.2f} s {100 * v / total:5.1f} %")
    print(f"{'total':32} {total / 1000:6.2f} s")


if __name__ == "__main__":
    main()
