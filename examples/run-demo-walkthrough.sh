#!/usr/bin/env bash
# Starts `regie serve --demo` on a free loopback port with a fresh data
# directory, runs examples/walkthrough.sh against it, stops it with SIGTERM
# (it must shut down cleanly), starts it again on the same data and checks that
# nothing was lost or loaded twice. Used by `make test`.
#
#   examples/run-demo-walkthrough.sh [BINARY] [bolt|redis]
#
# With redis, the store is a redis-server (appendonly, fsync always) that the
# script starts on a free loopback port and stops at the end.
set -euo pipefail
bin=${1:-bin/regie}
kind=${2:-bolt}
here=$(cd "$(dirname "$0")" && pwd)
data=$(mktemp -d)
log="$data/serve.log"
pid=
redis_pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
	[ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
	rm -rf "$data"
}
trap cleanup EXIT

port=$(( 20000 + RANDOM % 20000 ))
base="http://127.0.0.1:$port"
case "$kind" in
bolt) store="bolt:$data/regie.db" ;;
redis)
	rport=$(( 40000 + RANDOM % 10000 ))
	redis-server --bind 127.0.0.1 --port "$rport" --dir "$data" --save '' --appendonly yes --appendfsync always \
		--logfile "$data/redis.log" --daemonize no &
	redis_pid=$!
	for _ in $(seq 1 100); do
		[ "$(redis-cli -p "$rport" ping 2>/dev/null)" = PONG ] && break
		sleep 0.1
	done
	store="redis://127.0.0.1:$rport/0"
	;;
*) echo "usage: $0 [BINARY] [bolt|redis]" >&2; exit 2 ;;
esac
echo "walk-through on $store"

start() {
	"$bin" serve --demo --addr "127.0.0.1:$port" --store "$store" --data-dir "$data" >>"$log" 2>&1 &
	pid=$!
	for _ in $(seq 1 100); do
		if curl -fsS "$base/readyz" >/dev/null 2>&1; then return 0; fi
		kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "regie exited during start" >&2; exit 1; }
		sleep 0.1
	done
	cat "$log"; echo "regie did not become ready" >&2; exit 1
}

stop() {
	kill -TERM "$pid"
	if ! wait "$pid"; then cat "$log"; echo "regie did not shut down cleanly" >&2; exit 1; fi
	pid=
}

counts() {
	local funder client
	funder=$(curl -fsS -X POST "$base/api/v1/demo/login" -H 'Content-Type: application/json' -d '{"role":"funder"}' | jq -r .token)
	client=$(curl -fsS -X POST "$base/api/v1/demo/login" -H 'Content-Type: application/json' -d '{"role":"client"}' | jq -r .token)
	echo "regions=$(curl -fsS "$base/api/v1/regions" -H "Authorization: Bearer $funder" | jq '.regions|length')" \
	     "vouchers=$(curl -fsS "$base/api/v1/vouchers" -H "Authorization: Bearer $client" | jq '.vouchers|length')" \
	     "settled=$(curl -fsS "$base/api/v1/regions/utrecht/budget" -H "Authorization: Bearer $funder" | jq -r .settled)"
}

start
"$here/walkthrough.sh" "$base"
before=$(counts)
stop

start
after=$(counts)
stop
if [ "$before" != "$after" ]; then
	echo "state changed across a restart: before [$before] after [$after]" >&2
	exit 1
fi
echo "restart kept the state and did not load the demo twice: $after"
