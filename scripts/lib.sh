# lib.sh holds what the scripts here share. Source it after defining
# fail, which reports an error and exits.

# free_port sets REPLY to a loopback port below the ephemeral range that
# nothing listens on and this script has not handed out yet.
taken=" "
free_port() {
	local port tries
	for ((tries = 0; tries < 500; tries++)); do
		port=$((20000 + RANDOM % 12000))
		case "$taken" in *" $port "*) continue ;; esac
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			taken="$taken$port "
			REPLY=$port
			return 0
		fi
	done
	fail "no free port found"
}
