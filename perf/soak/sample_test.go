package soak

import (
	"os"
	"testing"
)

func TestParseGoroutineTotal(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"goroutine profile: total 42\n", 42, true},
		{"goroutine profile: total 0", 0, true},
		{"goroutine profile: total -1\n", 0, false},
		{"goroutine profile: total \n", 0, false},
		{"goroutine 1 [running]:\n", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := parseGoroutineTotal(tt.in)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("parseGoroutineTotal(%q) = %d, %v; want %d, ok %v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzParseGoroutineTotal(f *testing.F) {
	f.Add("goroutine profile: total 42\n")
	f.Add("goroutine profile: total x")
	f.Fuzz(func(t *testing.T, in string) {
		n, err := parseGoroutineTotal(in)
		if err == nil && n < 0 {
			t.Fatalf("parseGoroutineTotal(%q) = %d", in, n)
		}
	})
}

func TestInfoField(t *testing.T) {
	info := "# Memory\r\nused_memory:1048576\r\nused_memory_human:1.00M\r\nused_memory_rss:5\r\n"
	tests := []struct {
		name string
		want int64
		ok   bool
	}{
		{"used_memory", 1048576, true},
		{"used_memory_rss", 5, true},
		{"used_memory_human", 0, false},
		{"maxmemory", 0, false},
	}
	for _, tt := range tests {
		got, err := infoField(info, tt.name)
		if got != tt.want || (err == nil) != tt.ok {
			t.Errorf("infoField(%q) = %d, %v; want %d, ok %v", tt.name, got, err, tt.want, tt.ok)
		}
	}
}

func FuzzInfoField(f *testing.F) {
	f.Add("# Memory\r\nused_memory:1048576\r\n")
	f.Add("used_memory:x\r\n")
	f.Fuzz(func(t *testing.T, info string) {
		_, _ = infoField(info, "used_memory")
	})
}

func TestReadProcSelf(t *testing.T) {
	s, err := readProc(os.Getpid())
	if err != nil {
		t.Fatalf("readProc(self): %v", err)
	}
	if s.RSS <= 0 || s.Threads <= 0 {
		t.Errorf("readProc(self) = %+v; want RSS and threads", s)
	}
}
