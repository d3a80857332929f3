package main

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// writeConfig writes a config file named name with content in a temporary
// directory and returns its path.
func writeConfig(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestConfigFile: a YAML or TOML file sets flags by name; the environment
// wins over it, and the command line over both; lists become the
// comma-separated values of the flags that take several.
func TestConfigFile(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"danmu.yaml", "ws-addr: 127.0.0.1:9001\nredis: [10.0.0.1:6379, 10.0.0.2:6379]\nflush-interval: 40ms\nretention: 500\nhttp-addr: 127.0.0.1:9002\n"},
		{"danmu.toml", "ws-addr = '127.0.0.1:9001'\nredis = ['10.0.0.1:6379', '10.0.0.2:6379']\nflush-interval = '40ms'\nretention = 500\nhttp-addr = '127.0.0.1:9002'\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.name, tc.content)
			t.Setenv("DANMU_HTTP_ADDR", "127.0.0.1:9003")
			o := parseServe(t, "--config", path, "--retention", "600")
			if o.edge.Addr != "127.0.0.1:9001" || !slices.Equal(o.redis.Addrs, []string{"10.0.0.1:6379", "10.0.0.2:6379"}) ||
				o.fanout.FlushInterval != 40*time.Millisecond {
				t.Errorf("from the file: ws-addr %q, redis %q, flush-interval %v", o.edge.Addr, o.redis.Addrs, o.fanout.FlushInterval)
			}
			if o.ingest.Addr != "127.0.0.1:9003" {
				t.Errorf("http-addr = %q; want the environment's, over the file's", o.ingest.Addr)
			}
			if o.memory.MaxLen != 600 {
				t.Errorf("retention = %d; want the command line's 600, over the file's", o.memory.MaxLen)
			}
		})
	}
}

// TestConfigFileFromEnvironment: DANMU_CONFIG names the file too, and a
// key of another command's flag is skipped, so one file serves a fleet.
func TestConfigFileFromEnvironment(t *testing.T) {
	t.Setenv("DANMU_CONFIG", writeConfig(t, "fleet.yml", "ws-addr: 127.0.0.1:9101\nhttp-addr: 127.0.0.1:9102\n"))
	var o options
	fs := commandFlags("ingest", commandRoles["ingest"], &o)
	if err := parseFlags(fs, nil, io.Discard); err != nil {
		t.Fatalf("parse: %v", err)
	}
	if o.ingest.Addr != "127.0.0.1:9102" {
		t.Errorf("http-addr = %q; want the file's", o.ingest.Addr)
	}
}

// TestConfigErrors: an unknown key, a bad value, an unknown extension, a
// missing file and a DANMU_ variable that names no flag are usage errors
// that say what is wrong.
func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file, content, env, want string
	}{
		{"unknown key", "a.yaml", "ws-adr: 127.0.0.1:1\n", "", `unknown key "ws-adr"`},
		{"bad value", "a.yaml", "flush-interval: soon\n", "", "flush-interval"},
		{"a table", "a.toml", "[edge]\nloops = 2\n", "", "edge"},
		{"extension", "a.json", "{}", "", "want a .yaml"},
		{"missing file", "", "", "", "no such file"},
		{"unknown variable", "", "", "DANMU_WS_ADR", "DANMU_WS_ADR names no flag"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{}
			switch {
			case tc.file != "":
				args = append(args, "--config", writeConfig(t, tc.file, tc.content))
			case tc.env == "":
				args = append(args, "--config", filepath.Join(t.TempDir(), "none.yaml"))
			default:
				t.Setenv(tc.env, "x")
			}
			var o options
			err := parseFlags(commandFlags("serve", commandRoles["serve"], &o), args, io.Discard)
			if _, ok := err.(usageError); !ok || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parse = %v; want a usage error saying %q", err, tc.want)
			}
		})
	}
}
