package loadgen

import "syscall"

// raiseFileLimit raises the soft limit on open files to the hard one: one
// process here may hold at most the hard limit (20 000) of sockets. The Go
// runtime does the same at start-up; doing it here keeps that explicit.
func raiseFileLimit() {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur >= lim.Max {
		return
	}
	lim.Cur = lim.Max
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}
