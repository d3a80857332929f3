#!/usr/bin/env bash
# redis-cluster.sh starts or stops a local Redis Cluster of three masters,
# without replicas and without persistence, to run danmu against a cluster
# by hand (the Go tests start their own servers).
#
# usage: scripts/redis-cluster.sh start|stop
#
# REDIS_CLUSTER_PORT is the first port (default 7000); the nodes listen on it
# and the next two, and their cluster bus on those plus 10000. start is
# idempotent and prints the node addresses, comma-separated.
set -euo pipefail

base=${REDIS_CLUSTER_PORT:-7000}
dir=/tmp/danmu-redis-cluster-$base
ports=("$base" "$((base + 1))" "$((base + 2))")
wait_seconds=15

fail() {
	echo "redis-cluster: $*" >&2
	exit 1
}

pong() {
	[ "$(timeout 1 redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]
}

cluster_ok() {
	timeout 1 redis-cli -h 127.0.0.1 -p "$1" cluster info 2>/dev/null | grep -q '^cluster_state:ok'
}

# wait_for waits until the command "$@" succeeds.
wait_for() {
	local tries=$((wait_seconds * 10))
	until "$@"; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || fail "timed out waiting for: $*"
		sleep 0.1
	done
}

start() {
	command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
		fail "redis-server and redis-cli are needed (Redis >= 7.0)"
	local addrs=()
	for port in "${ports[@]}"; do
		addrs+=("127.0.0.1:$port")
		pong "$port" && continue
		mkdir -p "$dir/$port"
		redis-server --port "$port" --bind 127.0.0.1 --dir "$dir/$port" \
			--save "" --appendonly no --daemonize yes --logfile redis.log --pidfile "$dir/$port/redis.pid" \
			--cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 5000
		wait_for pong "$port"
	done
	if ! cluster_ok "${ports[0]}"; then
		redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes >"$dir/create.log" 2>&1 ||
			fail "redis-cli --cluster create failed: see $dir/create.log"
	fi
	for port in "${ports[@]}"; do
		wait_for cluster_ok "$port"
	done
	(IFS=,; echo "${addrs[*]}")
}

stop() {
	for port in "${ports[@]}"; do
		pong "$port" && redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
	done
	rm -rf "$dir"
}

case "${1:-}" in
start) start ;;
stop) stop ;;
*) fail "usage: $0 start|stop" ;;
esac
