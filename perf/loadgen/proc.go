package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTicks is USER_HZ, the unit of CPU times in /proc: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

var errProcFormat = errors.New("loadgen: unexpected /proc format")

// ProcSample is what /proc says about one process at one time.
type ProcSample struct {
	CPU     time.Duration // user + system time
	RSS     int64         // resident bytes
	Threads int64
}

// ReadProc samples process pid from /proc/<pid>/stat and status.
func ReadProc(pid int) (ProcSample, error) {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ProcSample{}, err
	}
	status, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return ProcSample{}, err
	}
	ticks, err := parseStat(stat)
	if err != nil {
		return ProcSample{}, err
	}
	rssKB, threads, err := parseStatus(status)
	if err != nil {
		return ProcSample{}, err
	}
	return ProcSample{CPU: time.Duration(ticks) * time.Second / clockTicks, RSS: rssKB << 10, Threads: threads}, nil
}

// parseStat returns utime+stime, in clock ticks, from /proc/<pid>/stat.
// The command name in parentheses may hold spaces and parentheses, so the
// fields are counted from the last ')'.
func parseStat(b []byte) (int64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("%w: stat has no ')'", errProcFormat)
	}
	fields := bytes.Fields(b[i+1:])
	// fields[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(fields) < 13 {
		return 0, fmt.Errorf("%w: stat has %d fields after the name", errProcFormat, len(fields))
	}
	utime, err1 := strconv.ParseInt(string(fields[11]), 10, 64)
	stime, err2 := strconv.ParseInt(string(fields[12]), 10, 64)
	if err := errors.Join(err1, err2); err != nil || utime < 0 || stime < 0 {
		return 0, fmt.Errorf("%w: stat times %q %q", errProcFormat, fields[11], fields[12])
	}
	return utime + stime, nil
}

// parseStatus returns VmRSS (kB) and Threads from /proc/<pid>/status.
func parseStatus(b []byte) (rssKB, threads int64, err error) {
	var haveRSS, haveThreads bool
	for line := range bytes.SplitSeq(b, []byte{'\n'}) {
		name, value, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		fields := bytes.Fields(value)
		if len(fields) == 0 {
			continue
		}
		switch string(name) {
		case "VmRSS":
			rssKB, err = strconv.ParseInt(string(fields[0]), 10, 64)
			haveRSS = err == nil && rssKB >= 0
		case "Threads":
			threads, err = strconv.ParseInt(string(fields[0]), 10, 64)
			haveThreads = err == nil && threads >= 0
		}
	}
	if !haveRSS || !haveThreads {
		return 0, 0, fmt.Errorf("%w: status lacks VmRSS or Threads", errProcFormat)
	}
	return rssKB, threads, nil
}

// machineCPU is the machine's CPU time in clock ticks, all cores summed.
type machineCPU struct {
	Busy, Total int64
}

func readMachineCPU() (machineCPU, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return machineCPU{}, err
	}
	return parseMachineCPU(b)
}

// parseMachineCPU reads the aggregate "cpu" line of /proc/stat: user nice
// system idle iowait irq softirq steal (guest time is already in user).
func parseMachineCPU(b []byte) (machineCPU, error) {
	line, _, _ := bytes.Cut(b, []byte{'\n'})
	fields := bytes.Fields(line)
	if len(fields) < 9 || string(fields[0]) != "cpu" {
		return machineCPU{}, fmt.Errorf("%w: /proc/stat starts %q", errProcFormat, line)
	}
	var v [8]int64
	var c machineCPU
	for i := range v {
		n, err := strconv.ParseInt(string(fields[1+i]), 10, 64)
		if err != nil || n < 0 {
			return machineCPU{}, fmt.Errorf("%w: /proc/stat field %q", errProcFormat, fields[1+i])
		}
		v[i] = n
		c.Total += n
	}
	c.Busy = c.Total - v[3] - v[4]
	return c, nil
}
