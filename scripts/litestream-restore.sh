#!/bin/sh
# A warm standby with Litestream: the machine dies in the middle of a
# send, the standby restores the database from the replica and `serve`
# resumes the send.
#
#   scripts/litestream-restore.sh [SUBSCRIBERS] [RATE] [KILL_AT]
#
# Builds tidings, makes a database with the sample issue and SUBSCRIBERS
# (default 10000) readers, replicates it with `litestream replicate` to a
# file replica, and has `tidings serve` send the issue at RATE messages
# per second (default 400) to a discard SMTP server in its own process. At
# KILL_AT seconds (default 10) serve and litestream are killed with
# SIGKILL together (the machine is lost); the database is restored from
# the replica with `litestream restore`, and a new `serve` on the restored
# file finishes the send. Prints what was sent before the loss, what the
# restored log knew of, the messages sent twice and the bound on them
# (sent but not yet replicated at the loss). LITESTREAM names the binary
# (default: litestream in PATH or in $(go env GOPATH)/bin).
set -eu
N=${1:-10000}
RATE=${2:-400}
KILL_AT=${3:-10}
cd "$(dirname "$0")/.."
LS=${LITESTREAM:-$(command -v litestream || echo "$(go env GOPATH)/bin/litestream")}
[ -x "$LS" ] || { echo "litestream not found: go install github.com/benbjohnson/litestream/cmd/litestream@v0.5.18" >&2; exit 1; }
dir=$(mktemp -d)
pids=
cleanup() {
	for p in $pids; do kill -9 "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

go build -o "$dir/tidings" ./cmd/tidings
go build -o "$dir/benchsend" ./scripts/benchsend
export TIDINGS_DB="$dir/live/tidings.db" TIDINGS_BASE_URL=https://news.example.org TIDINGS_LOG_FORMAT=json
mkdir -p "$dir/live" "$dir/standby"
t="$dir/tidings"
$t list add keji --name 科技情报参考 --from "科技情报 <news@example.org>" --lang zh >/dev/null
$t topic add ageing --name 养老 --keywords 养老 >/dev/null
$t topic add biomed --name 生物医药 --keywords 生物医药,医疗器械 >/dev/null
$t topic add finance --name 科技金融 --keywords 金融 >/dev/null
$t topic add space --name 航天 --keywords 航天 >/dev/null
$t issue import testdata/keji-qingbao-2024-07.md >/dev/null 2>&1
"$dir/benchsend" seed -n "$N"

sent() { # sent deliveries of issue 1 in database $1
	/usr/bin/python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM deliveries WHERE issue_id = 1 AND state = '"'sent'"'").fetchone()[0])' "$1"
}

"$dir/benchsend" sink -addr-file "$dir/addr" -every 500ms 2>"$dir/sink.log" &
sinkpid=$!
pids="$pids $sinkpid"
while [ ! -s "$dir/addr" ]; do sleep 0.1; done
addr=$(cat "$dir/addr")

cat >"$dir/ls.yml" <<YML
dbs:
  - path: $dir/live/tidings.db
    replica:
      type: file
      path: $dir/replica
YML
"$LS" replicate -config "$dir/ls.yml" >"$dir/ls.log" 2>&1 &
lspid=$!
pids="$pids $lspid"

$t schedule add 1 --at +1s >/dev/null
"$t" serve --smtp-url "smtp://$addr" --http 127.0.0.1:0 --rate "$RATE" >"$dir/serve1.log" 2>&1 &
servepid=$!
pids="$pids $servepid"
echo "serve sends to $N readers at $RATE msg/s, replicated by litestream; the machine dies at ${KILL_AT}s" >&2
sleep "$KILL_AT"
kill -9 "$servepid" "$lspid"
wait "$servepid" "$lspid" 2>/dev/null || true
sleep 1
atloss=$(tail -n 1 "$dir/sink.log" | sed 's/.* \([0-9]*\) messages$/\1/')
livesent=$(sent "$dir/live/tidings.db")

"$LS" restore -o "$dir/standby/tidings.db" "file://$dir/replica" >"$dir/restore.log" 2>&1 || { cat "$dir/restore.log" >&2; exit 1; }
restored=$(sent "$dir/standby/tidings.db")
echo "at the loss: $atloss messages received by the relay, $livesent sent in the live database, $restored in the restored one" >&2

export TIDINGS_DB="$dir/standby/tidings.db"
start=$(date +%s)
# The standby runs with the same settings as the lost machine (the same
# configuration): a send resumes only under the settings it started with.
"$t" serve --smtp-url "smtp://$addr" --http 127.0.0.1:0 --rate "$RATE" >"$dir/serve2.log" 2>&1 &
serve2=$!
pids="$pids $serve2"
while [ "$($t status 1 --json | sed -n 's/^  "state": "\(.*\)",*$/\1/p')" != done ]; do
	sleep 1
	[ $(( $(date +%s) - start )) -lt 600 ] || { echo "the standby did not finish the send" >&2; tail "$dir/serve2.log" >&2; exit 1; }
done
kill "$serve2"
wait "$serve2" 2>/dev/null || true
sleep 1
total=$(tail -n 1 "$dir/sink.log" | sed 's/.* \([0-9]*\) messages$/\1/')
final=$(sent "$TIDINGS_DB")
echo "the standby finished the send in $(( $(date +%s) - start ))s: $final sent in the log, $total messages received in all" >&2
echo "sent twice: $((total - N)); bound (received at the loss, not in the replica): $((atloss - restored))"
[ "$final" = "$N" ] && [ $((total - N)) -le $((atloss - restored)) ] && [ $((total - N)) -ge 0 ]
