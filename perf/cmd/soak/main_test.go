package main

import (
	"io"
	"strings"
	"testing"

	"github.com/danmu-dev/danmu/perf/soak"
)

func TestProcListSet(t *testing.T) {
	tests := []struct {
		in   string
		want soak.Proc
		ok   bool
	}{
		{"edge1:42:127.0.0.1:7090", soak.Proc{Name: "edge1", PID: 42, AdminAddr: "127.0.0.1:7090"}, true},
		{"ingest:7:[::1]:7090", soak.Proc{Name: "ingest", PID: 7, AdminAddr: "[::1]:7090"}, true},
		{"edge1:42", soak.Proc{}, false},
		{"edge1:x:127.0.0.1:7090", soak.Proc{}, false},
		{"edge1:0:127.0.0.1:7090", soak.Proc{}, false},
		{":42:127.0.0.1:7090", soak.Proc{}, false},
		{"edge1:42:", soak.Proc{}, false},
		{"", soak.Proc{}, false},
	}
	for _, tt := range tests {
		var p procList
		err := p.Set(tt.in)
		if (err == nil) != tt.ok || (tt.ok && (len(p) != 1 || p[0] != tt.want)) {
			t.Errorf("Set(%q) = %v, %v; want %+v, ok %v", tt.in, p, err, tt.want, tt.ok)
		}
	}
}

func FuzzProcListSet(f *testing.F) {
	f.Add("edge1:42:127.0.0.1:7090")
	f.Add("a:1:b")
	f.Fuzz(func(t *testing.T, in string) {
		var p procList
		if err := p.Set(in); err != nil {
			return
		}
		got := p[0]
		if got.Name == "" || got.PID <= 0 || got.AdminAddr == "" || strings.Contains(got.Name, ":") {
			t.Fatalf("Set(%q) accepted %+v", in, got)
		}
	})
}

func TestRunUsage(t *testing.T) {
	tests := [][]string{
		{},                          // no addresses
		{"--ingest", "127.0.0.1:1"}, // no edges, Redis, retention or output
		{"--proc", "bad"},
		{"extra"},
	}
	for _, args := range tests {
		var stderr strings.Builder
		if status := run(args, io.Discard, &stderr); status != 2 {
			t.Errorf("run(%q) = %d, stderr %q; want 2", args, status, stderr.String())
		}
	}
}
