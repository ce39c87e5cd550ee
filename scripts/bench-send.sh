#!/bin/sh
# Benchmark of tidings' sending against a bare SMTP client.
#
#   scripts/bench-send.sh [SUBSCRIBERS] [CONCURRENCY] [STOP_AFTER]
#
# Builds tidings, makes a database with the sample issue and SUBSCRIBERS
# (default 100000) confirmed readers in four topic sets, starts a discard
# SMTP server in its own process, runs `tidings send 1` through it with
# CONCURRENCY connections (default 4), then a bare go-mail/smtp client
# sending the same rendered messages the same number of times over as
# many connections. Prints messages per second, CPU seconds and peak RSS
# of each, and the ratio. STOP_AFTER (e.g. 120s) interrupts tidings early
# with SIGINT — for measuring peak memory at 1 000 000 readers without
# waiting for the whole send; the rate then includes preparing the log.
# Environment: CPUPROFILE=FILE writes a CPU profile of the tidings run;
# COMMIT_DELAY (default 200us) is passed as TIDINGS_SEND_COMMIT_DELAY.
set -eu
N=${1:-100000}
C=${2:-4}
STOP=${3:-0}
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
sinkpid=
cleanup() {
	[ -n "$sinkpid" ] && kill "$sinkpid" 2>/dev/null && wait "$sinkpid" 2>/dev/null
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

"$dir/benchsend" sink -addr-file "$dir/addr" &
sinkpid=$!
while [ ! -s "$dir/addr" ]; do sleep 0.1; done
addr=$(cat "$dir/addr")

# The bare client sends the very messages tidings renders: one per topic set.
for i in 0 1 2 3; do
	$t issue preview 1 --to "bench000000$i@example.com" --eml "$dir/msg$i.eml" >/dev/null
done

echo "sending the sample issue to $N subscribers over $C connections..." >&2
TIDINGS_CPUPROFILE=${CPUPROFILE:-} TIDINGS_SEND_COMMIT_DELAY=${COMMIT_DELAY:-200us} "$dir/benchsend" run -label tidings -n "$N" -stop-after "$STOP" -- \
	"$t" send 1 --smtp-url "smtp://$addr" --concurrency "$C" >"$dir/tidings.json" 2>"$dir/tidings.log" ||
	{ cat "$dir/tidings.log" >&2; exit 1; }
if [ "$STOP" != 0 ]; then
	# Interrupted on purpose: count what was sent.
	sent=$($t status 1 --json | sed -n 's/^  "sent": \([0-9]*\),/\1/p')
	sed "s/\"msgs\":$N/\"msgs\":$sent/" "$dir/tidings.json" >"$dir/t2.json" && mv "$dir/t2.json" "$dir/tidings.json"
	N=$sent
fi
"$dir/benchsend" bare -addr "$addr" -c "$C" -n "$N" "$dir"/msg?.eml >"$dir/bare.json"
"$dir/benchsend" report "$dir/tidings.json" "$dir/bare.json"
