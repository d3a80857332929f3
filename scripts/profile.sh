#!/usr/bin/env bash
# profile.sh runs one load scenario of bin/loadgen against a `danmu serve`
# it starts on free loopback ports, and captures from the server's admin
# address (net/http/pprof) while the load runs: a CPU profile, the
# allocations, mutex contention and blocking of the same window (delta
# profiles), then the heap in use, the goroutines and a runtime/trace.
# `go tool pprof -top` summaries go to summary.txt. With SCHEDTRACE=1 the
# server runs with GODEBUG=schedtrace=1000 and its scheduler lines are
# extracted into schedtrace.txt. Every process it starts is stopped on exit.
#
# The window starts when the first comment is accepted (hot-room,
# many-rooms, ingest) or at once (idle, connect-storm), and lasts
# PROFILE_SECONDS; the trace follows it for TRACE_SECONDS, so both should
# fit in the scenario's --duration (20 s by default for hot-room).
#
# Environment (defaults in parentheses):
#   SCENARIO         loadgen scenario (hot-room)
#   LOAD_ARGS        extra loadgen flags, e.g. '--viewers 10000 --rate 1000'
#   SERVER_ARGS      extra `danmu serve` flags
#   SCHEDTRACE       1: run the server with GODEBUG=schedtrace=1000 (0)
#   PROFILE_SECONDS  CPU and delta profiles' length (--duration - TRACE_SECONDS - 3, at least 3)
#   TRACE_SECONDS    runtime/trace length (3)
#   MUTEX_FRACTION   --mutex-profile-fraction of the server (100)
#   BLOCK_RATE       --block-profile-rate of the server, in ns (10000)
#   PROFILE_OUT      output directory (perf/out/<UTC time>-profile-<scenario>)
#   GO               the go command (go)
set -euo pipefail

scenario=${SCENARIO:-hot-room}
load_args=${LOAD_ARGS:-}
server_args=${SERVER_ARGS:-}
trace_seconds=${TRACE_SECONDS:-3}
mutex_fraction=${MUTEX_FRACTION:-100}
block_rate=${BLOCK_RATE:-10000}
go=${GO:-go}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${PROFILE_OUT:-perf/out/$(date -u +%Y%m%d-%H%M%S)-profile-$scenario}

fail() {
	echo "profile: $*" >&2
	exit 1
}

case "$scenario" in
hot-room | many-rooms) duration=20 wait_for=accepted ;;
ingest) duration=10 wait_for=accepted ;;
idle | connect-storm) duration=10 wait_for=start ;;
*) fail "unknown scenario $scenario: want hot-room, many-rooms, ingest, idle or connect-storm" ;;
esac
if [[ " $load_args " =~ [[:space:]]--duration[=[:space:]]+([0-9]+)s[[:space:]] ]]; then
	duration=${BASH_REMATCH[1]}
fi
cpu_seconds=${PROFILE_SECONDS:-$((duration - trace_seconds - 3))}
[ "$cpu_seconds" -ge 3 ] || cpu_seconds=3

echo "profile: building bin/danmu and bin/loadgen"
"$go" build -o bin/danmu ./cmd/danmu
"$go" -C perf build -o ../bin/loadgen ./cmd/loadgen
case "$(bin/danmu serve --help 2>&1)" in
*--admin-addr*--block-profile-rate*) ;;
*--block-profile-rate*--admin-addr*) ;;
*) fail "bin/danmu serve lacks --admin-addr or --block-profile-rate" ;;
esac

mkdir -p "$out"
server_pid=
load_pid=

cleanup() {
	local status=$? tries
	trap - EXIT INT TERM
	for pid in $load_pid $server_pid; do
		kill -TERM "$pid" 2>/dev/null || continue
		for ((tries = 0; tries < 150; tries++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	done
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

free_port && ws_addr=127.0.0.1:$REPLY
free_port && http_addr=127.0.0.1:$REPLY
free_port && admin=127.0.0.1:$REPLY

godebug=${GODEBUG:-}
if [ "${SCHEDTRACE:-0}" = 1 ]; then
	godebug=${godebug:+$godebug,}schedtrace=1000
fi
# shellcheck disable=SC2086 # SERVER_ARGS is a list of flags
GODEBUG=$godebug bin/danmu serve --ws-addr "$ws_addr" --http-addr "$http_addr" --admin-addr "$admin" \
	--mutex-profile-fraction "$mutex_fraction" --block-profile-rate "$block_rate" $server_args \
	>"$out/server.log" 2>&1 &
server_pid=$!
for addr in "$ws_addr" "$http_addr" "$admin"; do
	for ((tries = 0; ; tries++)); do
		kill -0 "$server_pid" 2>/dev/null || {
			tail -n 20 "$out/server.log" >&2
			fail "danmu exited before listening on $addr"
		}
		(exec 3<>"/dev/tcp/${addr%:*}/${addr#*:}") 2>/dev/null && break
		[ "$tries" -lt 150 ] || fail "danmu did not listen on $addr within 15s"
		sleep 0.1
	done
done

# shellcheck disable=SC2086 # LOAD_ARGS is a list of flags
bin/loadgen "$scenario" --ws-addr "$ws_addr" --http-addr "$http_addr" --server-pid "$server_pid" \
	--out "$out/load" $load_args >"$out/load.txt" 2>"$out/load-progress.log" &
load_pid=$!
echo "profile: danmu serve (pid $server_pid, admin $admin) under bin/loadgen $scenario $load_args; output in $out"

# accepted prints how many comments the server has answered 201.
accepted() {
	{ curl -sf --max-time 2 "http://$admin/metrics" || true; } |
		awk '/^danmu_ingest_requests_total\{/ && /status="201"/ { n += $NF } END { printf "%d\n", n }'
}

if [ "$wait_for" = accepted ]; then
	# Viewers connect first: allow a minute plus 2 ms per viewer.
	for ((tries = 0; ; tries++)); do
		kill -0 "$load_pid" 2>/dev/null || fail "loadgen ended before any comment was accepted; see $out/load-progress.log"
		[ "$(accepted)" -gt 0 ] && break
		[ "$tries" -lt 3000 ] || fail "no comment accepted within 300s"
		sleep 0.1
	done
fi

echo "profile: capturing ${cpu_seconds}s of CPU, allocations, mutex and block profiles"
pprof=http://$admin/debug/pprof
pids=()
for p in profile allocs mutex block; do
	curl -sf --max-time $((cpu_seconds + 30)) -o "$out/$p.pprof" "$pprof/$p?seconds=$cpu_seconds" &
	pids+=("$!")
done
for pid in "${pids[@]}"; do
	wait "$pid" || fail "a profile request failed (pids ${pids[*]}); is --admin-addr serving /debug/pprof/?"
done
mv "$out/profile.pprof" "$out/cpu.pprof"
curl -sf --max-time 30 -o "$out/heap.pprof" "$pprof/heap"
curl -sf --max-time 30 -o "$out/goroutines.txt" "$pprof/goroutine?debug=1"
echo "profile: capturing a ${trace_seconds}s runtime/trace"
curl -sf --max-time $((trace_seconds + 30)) -o "$out/trace.out" "$pprof/trace?seconds=$trace_seconds"

load_status=0
wait "$load_pid" || load_status=$?
load_pid=
kill -TERM "$server_pid" 2>/dev/null || true
wait "$server_pid" || echo "profile: danmu exited with status $? (see $out/server.log)" >&2
server_pid=

if [ "${SCHEDTRACE:-0}" = 1 ]; then
	grep '^SCHED' "$out/server.log" >"$out/schedtrace.txt" || true
fi

# top prints the 25 heaviest frames of one profile.
top() {
	local title=$1 file=$2
	shift 2
	printf '== %s (%s)\n' "$title" "$file"
	"$go" tool pprof -top -nodecount=25 "$@" bin/danmu "$out/$file" 2>&1 | sed -n '1,40p'
	printf '\n'
}
{
	printf 'profile of danmu serve under: bin/loadgen %s %s\n' "$scenario" "$load_args"
	printf 'window %ss of CPU and delta profiles after the first accepted comment, then a %ss trace; %s\n\n' \
		"$cpu_seconds" "$trace_seconds" "$(date -u '+%Y-%m-%d %H:%M UTC')"
	top "CPU" cpu.pprof
	top "CPU, by cumulative time" cpu.pprof -cum
	top "allocated bytes in the window" allocs.pprof -sample_index=alloc_space
	top "heap in use at the end" heap.pprof -sample_index=inuse_space
	top "mutex contention (delay)" mutex.pprof
	top "blocking (delay)" block.pprof
	printf '== scheduler latency from the trace (go tool trace -pprof=sched)\n'
	if "$go" tool trace -pprof=sched "$out/trace.out" >"$out/trace-sched.pprof" 2>/dev/null; then
		"$go" tool pprof -top -nodecount=15 "$out/trace-sched.pprof" 2>&1 | sed -n '1,25p'
	fi
} >"$out/summary.txt"

echo "profile: load result in $out/load.txt (exit status $load_status); summary:"
sed -n '/^== CPU/,/^$/p' "$out/summary.txt" | sed -n '1,20p'
echo "profile: full summary in $out/summary.txt; go tool pprof -http=127.0.0.1:8081 bin/danmu $out/cpu.pprof; go tool trace $out/trace.out"
exit "$load_status"
