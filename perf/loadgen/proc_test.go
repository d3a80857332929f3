package loadgen

import (
	"errors"
	"os"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{
		{"10903 (cat) R 10413 10413 30598 0 -1 4194304 122 0 0 0 7 5 0 0 20 0 1 0 174967 3133440 417", 12},
		{"42 (a (b) c) S 1 42 42 0 -1 4194560 9 0 0 0 100 250 0 0 20 0 4 0 1 2 3", 350},
	}
	for _, tt := range tests {
		if got, err := parseStat([]byte(tt.in)); err != nil || got != tt.want {
			t.Errorf("parseStat(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "1 (x", "1 (x) R 1 2", "1 (x) R 1 1 1 0 -1 0 0 0 0 0 a b", "1 (x) R 1 1 1 0 -1 0 0 0 0 0 -1 2"} {
		if _, err := parseStat([]byte(bad)); !errors.Is(err, errProcFormat) {
			t.Errorf("parseStat(%q) error = %v; want %v", bad, err, errProcFormat)
		}
	}
}

func TestParseStatus(t *testing.T) {
	in := "Name:\tdanmu\nVmHWM:\t  20000 kB\nVmRSS:\t   17512 kB\nThreads:\t9\n"
	rss, threads, err := parseStatus([]byte(in))
	if err != nil || rss != 17512 || threads != 9 {
		t.Errorf("parseStatus = %d, %d, %v; want 17512, 9", rss, threads, err)
	}
	for _, bad := range []string{"", "VmRSS:\t1 kB\n", "Threads:\t3\n", "VmRSS:\tx kB\nThreads:\t3\n", "VmRSS:\nThreads:\t3\n"} {
		if _, _, err := parseStatus([]byte(bad)); !errors.Is(err, errProcFormat) {
			t.Errorf("parseStatus(%q) error = %v; want %v", bad, err, errProcFormat)
		}
	}
}

func TestParseMachineCPU(t *testing.T) {
	got, err := parseMachineCPU([]byte("cpu  194750 0 66607 86041 646 0 954 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n"))
	if want := (machineCPU{Busy: 194750 + 66607 + 954, Total: 194750 + 66607 + 86041 + 646 + 954}); err != nil || got != want {
		t.Errorf("parseMachineCPU = %+v, %v; want %+v", got, err, want)
	}
	for _, bad := range []string{"", "cpu0 1 2 3 4 5 6 7 8", "cpu 1 2 3", "cpu 1 2 3 x 5 6 7 8"} {
		if _, err := parseMachineCPU([]byte(bad)); !errors.Is(err, errProcFormat) {
			t.Errorf("parseMachineCPU(%q) error = %v; want %v", bad, err, errProcFormat)
		}
	}
	if got := machinePercent(machineCPU{Busy: 100, Total: 400}, machineCPU{Busy: 250, Total: 600}, 2); got != 150 {
		t.Errorf("machinePercent = %g; want 150", got)
	}
}

func TestReadProcOfThisProcess(t *testing.T) {
	s, err := ReadProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.RSS < 1<<20 || s.Threads < 1 || s.CPU < 0 || s.CPU > time.Hour {
		t.Errorf("ReadProc(self) = %+v; want a plausible sample", s)
	}
	if _, err := readMachineCPU(); err != nil {
		t.Errorf("readMachineCPU: %v", err)
	}
}

func FuzzParseProc(f *testing.F) {
	f.Add("10903 (cat) R 10413 10413 30598 0 -1 4194304 122 0 0 0 7 5 0 0")
	f.Add("VmRSS:\t   17512 kB\nThreads:\t9\n")
	f.Add("cpu  194750 0 66607 86041 646 0 954 0 0 0\n")
	f.Fuzz(func(t *testing.T, in string) {
		if ticks, err := parseStat([]byte(in)); err == nil && ticks < 0 {
			t.Fatalf("parseStat(%q) = %d", in, ticks)
		}
		if rss, threads, err := parseStatus([]byte(in)); err == nil && (rss < 0 || threads < 0) {
			t.Fatalf("parseStatus(%q) = %d, %d", in, rss, threads)
		}
		if c, err := parseMachineCPU([]byte(in)); err == nil && (c.Busy > c.Total || c.Total < 0) {
			t.Fatalf("parseMachineCPU(%q) = %+v", in, c)
		}
	})
}
