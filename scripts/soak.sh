#!/usr/bin/env bash
# soak.sh runs danmu's soak test on loopback: its own redis-server (AOF,
# appendfsync everysec, rewrites from 1 MiB, noeviction) in a temporary
# directory, one `danmu ingest --redis` and two `danmu edge --redis`, then
# bin/soak (perf/cmd/soak): viewers on both edges, paced publishers on the
# ingest node, a sample every SOAK_INTERVAL of every process's RSS and
# goroutines (from its --admin-addr) and of Redis's used_memory. It fails
# when an accepted comment is lost, a viewer is disconnected, a process
# grows beyond the bounds of docs/performance.md ("Soak"), Redis holds more
# than the retention allows, or a danmu process does not exit cleanly on
# SIGTERM. Every process it starts is stopped on exit.
#
# Environment (defaults in parentheses):
#   SOAK_DURATION          how long comments are sent (30m)
#   SOAK_INTERVAL          time between samples (10s)
#   SOAK_RETENTION         --retention of the fleet (300)
#   SOAK_ROOMS             rooms (4)
#   SOAK_RATE              comments per second per room (10)
#   SOAK_VIEWERS_PER_EDGE  viewers on each edge (100)
#   SOAK_OUT               report directory (perf/out/soak-<UTC time>)
#   SOAK_DANMU_ARGS        extra flags for every danmu process
#   SOAK_ARGS              extra flags for bin/soak
#   GO                     the go command (go)
set -euo pipefail

duration=${SOAK_DURATION:-30m}
interval=${SOAK_INTERVAL:-10s}
retention=${SOAK_RETENTION:-300}
rooms=${SOAK_ROOMS:-4}
rate=${SOAK_RATE:-10}
viewers=${SOAK_VIEWERS_PER_EDGE:-100}
node_entries=100
stop_seconds=20

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${SOAK_OUT:-perf/out/soak-$(date -u +%Y%m%d-%H%M%S)}

fail() {
	echo "soak: $*" >&2
	exit 1
}

command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
	fail "redis-server and redis-cli are needed (apt-get install redis-server)"

echo "soak: building bin/danmu and bin/soak"
"${GO:-go}" build -o bin/danmu ./cmd/danmu
"${GO:-go}" -C perf build -o ../bin/soak ./cmd/soak
case "$(bin/danmu edge --help 2>&1)" in
*--admin-addr*) ;;
*) fail "bin/danmu has no --admin-addr: the goroutine counts need it" ;;
esac

mkdir -p "$out"
tmp=$(mktemp -d /tmp/danmu-soak.XXXXXX)
names=()
pids=()

# stop_all sends SIGTERM to every process started, newest first, waits up
# to stop_seconds for each, then kills it. A danmu process that exits with
# a status other than 0 makes it return 1.
stop_all() {
	local i pid name status when bad=0 waited
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		pid=${pids[i]}
		name=${names[i]}
		when="before it was stopped"
		if kill -TERM "$pid" 2>/dev/null; then
			when="on SIGTERM"
		fi
		waited=0
		while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt $((stop_seconds * 10)) ]; do
			sleep 0.1
			waited=$((waited + 1))
		done
		if kill -0 "$pid" 2>/dev/null; then
			echo "soak: $name (pid $pid) did not stop within ${stop_seconds}s; killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
			bad=1
		fi
		status=0
		wait "$pid" 2>/dev/null || status=$?
		if [ "$name" != redis ] && [ "$status" -ne 0 ]; then
			echo "soak: $name (pid $pid) exited with status $status $when; see $out/$name.log" >&2
			bad=1
		fi
	done
	pids=()
	names=()
	return "$bad"
}

cleanup() {
	local status=$?
	trap - EXIT INT TERM
	stop_all || true
	rm -rf "$tmp"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=scripts/lib.sh
. "$root/scripts/lib.sh"

# start name cmd... starts cmd in the background, output in $out/name.log.
start() {
	local name=$1
	shift
	"$@" >"$out/$name.log" 2>&1 &
	pids+=("$!")
	names+=("$name")
}

# wait_port name pid port waits until pid listens on port, for at most 15 s.
wait_port() {
	local name=$1 pid=$2 port=$3 tries
	for ((tries = 0; tries < 150; tries++)); do
		kill -0 "$pid" 2>/dev/null || {
			tail -n 20 "$out/$name.log" >&2
			fail "$name exited before listening on $port"
		}
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	tail -n 20 "$out/$name.log" >&2
	fail "$name did not listen on $port within 15s"
}

free_port && redis_port=$REPLY
free_port && http_port=$REPLY
free_port && ws1_port=$REPLY
free_port && ws2_port=$REPLY
free_port && admin_ingest=$REPLY
free_port && admin_edge1=$REPLY
free_port && admin_edge2=$REPLY

start redis redis-server --bind 127.0.0.1 --port "$redis_port" --dir "$tmp" --daemonize no \
	--save "" --appendonly yes --appendfsync everysec \
	--auto-aof-rewrite-percentage 100 --auto-aof-rewrite-min-size 1mb \
	--maxmemory 512mb --maxmemory-policy noeviction \
	--stream-node-max-entries "$node_entries"
redis_pid=${pids[0]}
wait_port redis "$redis_pid" "$redis_port"

redis=127.0.0.1:$redis_port
# shellcheck disable=SC2086 # SOAK_DANMU_ARGS is a list of flags
common=(--redis "$redis" --retention "$retention" --log-level warn ${SOAK_DANMU_ARGS:-})
start ingest bin/danmu ingest "${common[@]}" --http-addr "127.0.0.1:$http_port" --admin-addr "127.0.0.1:$admin_ingest"
ingest_pid=$!
start edge1 bin/danmu edge "${common[@]}" --ws-addr "127.0.0.1:$ws1_port" --admin-addr "127.0.0.1:$admin_edge1"
edge1_pid=$!
start edge2 bin/danmu edge "${common[@]}" --ws-addr "127.0.0.1:$ws2_port" --admin-addr "127.0.0.1:$admin_edge2"
edge2_pid=$!
wait_port ingest "$ingest_pid" "$http_port"
wait_port ingest "$ingest_pid" "$admin_ingest"
wait_port edge1 "$edge1_pid" "$ws1_port"
wait_port edge1 "$edge1_pid" "$admin_edge1"
wait_port edge2 "$edge2_pid" "$ws2_port"
wait_port edge2 "$edge2_pid" "$admin_edge2"

echo "soak: redis $redis (pid $redis_pid), ingest :$http_port (pid $ingest_pid), edges :$ws1_port (pid $edge1_pid) and :$ws2_port (pid $edge2_pid); report in $out"
status=0
# shellcheck disable=SC2086 # SOAK_ARGS is a list of flags
bin/soak --ingest "127.0.0.1:$http_port" --edges "127.0.0.1:$ws1_port,127.0.0.1:$ws2_port" \
	--proc "ingest:$ingest_pid:127.0.0.1:$admin_ingest" \
	--proc "edge1:$edge1_pid:127.0.0.1:$admin_edge1" \
	--proc "edge2:$edge2_pid:127.0.0.1:$admin_edge2" \
	--redis "$redis" --redis-pid "$redis_pid" --retention "$retention" --node-entries "$node_entries" \
	--rooms "$rooms" --rate "$rate" --viewers-per-edge "$viewers" \
	--duration "$duration" --interval "$interval" --out "$out" ${SOAK_ARGS:-} || status=$?

if ! stop_all; then
	echo "soak: FAIL: a process did not stop cleanly" | tee -a "$out/report.txt" >&2
	status=1
fi
if [ "$status" -eq 0 ]; then
	echo "soak: PASS ($out)"
else
	echo "soak: FAIL (status $status; $out)" >&2
fi
exit "$status"
