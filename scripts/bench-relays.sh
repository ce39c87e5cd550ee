#!/bin/sh
# A send over three relays at once, one of them taken out and back.
#
#   scripts/bench-relays.sh [SUBSCRIBERS] [CONCURRENCY] [OUT_AT] [BACK_AT]
#
# Builds tidings, makes a database with the sample issue and SUBSCRIBERS
# (default 40000) readers, starts three discard SMTP servers, each in its
# own process and printing its count every 2 s, and runs `tidings send 1`
# over the three with CONCURRENCY connections (default 6). At OUT_AT
# seconds (default 5) relay B is killed; at BACK_AT (default 12) it starts
# again on the same address. Prints the sinks' timelines, the delivery
# log's messages per relay and the send's outcome. The cooldown of a relay
# that failed is 5 s here (TIDINGS_SEND_COOLDOWN) and temporary failures
# are retried after 2 s (TIDINGS_SEND_BACKOFF), so the run stays short.
set -eu
N=${1:-40000}
C=${2:-6}
OUT=${3:-5}
BACK=${4:-12}
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

go build -o "$dir/tidings" ./cmd/tidings
go build -o "$dir/benchsend" ./scripts/benchsend
export TIDINGS_DB="$dir/bench.db" TIDINGS_BASE_URL=https://news.example.org TIDINGS_LOG_FORMAT=json
t="$dir/tidings"
$t list add keji --name 科技情报参考 --from "科技情报 <news@example.org>" --lang zh >/dev/null
$t topic add ageing --name 养老 --keywords 养老 >/dev/null
$t topic add biomed --name 生物医药 --keywords 生物医药,医疗器械 >/dev/null
$t topic add finance --name 科技金融 --keywords 金融 >/dev/null
$t topic add space --name 航天 --keywords 航天 >/dev/null
$t issue import testdata/keji-qingbao-2024-07.md >/dev/null 2>&1
"$dir/benchsend" seed -n "$N"

for r in A B C; do
	"$dir/benchsend" sink -addr-file "$dir/addr$r" -every 2s 2>"$dir/sink$r.log" &
	pids="$pids $!"
	eval "pid$r=$!"
	while [ ! -s "$dir/addr$r" ]; do sleep 0.1; done
done
A=$(cat "$dir/addrA") B=$(cat "$dir/addrB") C_=$(cat "$dir/addrC")

echo "sending to $N readers over 3 relays ($A $B $C_), $C connections; B out at ${OUT}s, back at ${BACK}s" >&2
start=$(date +%s)
(
	TIDINGS_SEND_COOLDOWN=5s TIDINGS_SEND_BACKOFF=2s TIDINGS_SEND_POLL=200ms \
		"$t" send 1 --concurrency "$C" --smtp-url "smtp://$A" --smtp-url "smtp://$B" --smtp-url "smtp://$C_" \
		>"$dir/send.out" 2>"$dir/send.log"
	echo $? >"$dir/send.rc"
	date +%s >"$dir/send.end"
) &
sendpid=$!
sleep "$OUT"
kill "$pidB"
wait "$pidB" 2>/dev/null || true
echo "relay B taken out at $(( $(date +%s) - start ))s" >&2
sleep $((BACK - OUT))
"$dir/benchsend" sink -addr "$B" -addr-file "$dir/addrB2" -every 2s 2>"$dir/sinkB2.log" &
pidB2=$!
pids="$pids $pidB2"
echo "relay B back at $(( $(date +%s) - start ))s" >&2
wait "$sendpid"
[ "$(cat "$dir/send.rc")" = 0 ] || { cat "$dir/send.log" >&2; exit 1; }
echo "send finished at $(( $(cat "$dir/send.end") - start ))s: $(cat "$dir/send.out")" >&2
for p in $pidA $pidC $pidB2; do kill "$p"; done
wait 2>/dev/null || true

for f in sinkA sinkB sinkB2 sinkC; do
	echo "== $f"
	cat "$dir/$f.log"
done
echo "== relay events in the send's log"
grep -o '"msg":"relay[^"]*"[^}]*"relay":"[^"]*"' "$dir/send.log" | sort | uniq -c || true
echo "== delivery log: messages per relay, and duplicates"
/usr/bin/python3 - "$TIDINGS_DB" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for relay, n in c.execute("SELECT relay, count(*) FROM deliveries WHERE state = 'sent' GROUP BY relay ORDER BY relay"):
    print(f"{relay or '(none)':40} {n}")
print("attempts > 1:", c.execute("SELECT count(*) FROM deliveries WHERE attempts > 1").fetchone()[0])
PY
