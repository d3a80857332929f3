#!/usr/bin/env bash
# ensure-redis.sh makes sure a Redis server answers PING on 127.0.0.1, as the
# Redis tests and `make test` require. It is idempotent: it installs
# redis-server with apt-get when the binaries are missing (Debian, as root),
# starts a throwaway server without persistence when nothing answers, and
# leaves a running server alone. It exits non-zero with a message when Redis
# cannot be made available.
#
# REDIS_PORT selects the port (default 6379, the one the tests use).
set -euo pipefail

port=${REDIS_PORT:-6379}
dir=/tmp/danmu-redis-$port
wait_seconds=10

fail() {
	echo "ensure-redis: $*" >&2
	exit 1
}

pong() {
	[ "$(timeout 1 redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]
}

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
	command -v apt-get >/dev/null ||
		fail "redis-server/redis-cli not found and apt-get is unavailable: install Redis >= 6.2 yourself"
	[ "$(id -u)" -eq 0 ] ||
		fail "redis-server/redis-cli not found: run as root to install them, or apt-get install redis-server"
	echo "ensure-redis: installing redis-server with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q || fail "apt-get update failed"
	apt-get install -y -q --no-install-recommends redis-server ||
		fail "apt-get install redis-server failed"
	command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
		fail "redis-server/redis-cli still missing after apt-get install"
fi

if pong; then
	echo "ensure-redis: Redis answers on 127.0.0.1:$port"
	exit 0
fi

mkdir -p "$dir"
echo "ensure-redis: starting redis-server on 127.0.0.1:$port (dir $dir)"
redis-server --daemonize yes --bind 127.0.0.1 --port "$port" \
	--save "" --appendonly no \
	--dir "$dir" --logfile "$dir/redis.log" --pidfile "$dir/redis.pid" ||
	fail "redis-server did not start; log: $dir/redis.log"

deadline=$((SECONDS + wait_seconds))
while [ "$SECONDS" -lt "$deadline" ]; do
	if pong; then
		echo "ensure-redis: Redis answers on 127.0.0.1:$port"
		exit 0
	fi
	sleep 0.1
done

echo "ensure-redis: last lines of $dir/redis.log:" >&2
tail -n 20 "$dir/redis.log" >&2 || true
fail "no PING answer on 127.0.0.1:$port after ${wait_seconds}s"
