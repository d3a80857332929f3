package ingest

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	want := Config{
		Addr:            "127.0.0.1:7080",
		MaxTextRunes:    100,
		MaxNameRunes:    32,
		MaxBodyBytes:    4096,
		MaxBatch:        100,
		MaxBatchBytes:   128 << 10,
		AppendTimeout:   2 * time.Second,
		QueryTimeout:    2 * time.Second,
		ReadTimeout:     10 * time.Second,
		WriteTimeout:    10 * time.Second,
		IdleTimeout:     60 * time.Second,
		MaxConnsPerIP:   1024,
		HistoryLimit:    50,
		MaxHistoryLimit: 1000,
		HookTimeout:     2 * time.Second,
		MaxSlowMode:     time.Hour,
		MaxBan:          365 * 24 * time.Hour,
	}
	if got := (Config{}).withDefaults(); !reflect.DeepEqual(got, want) {
		t.Errorf("Config{}.withDefaults() = %+v; want %+v", got, want)
	}
	negative := Config{MaxTextRunes: -1, MaxBodyBytes: -1, AppendTimeout: -time.Second, HistoryLimit: -1}
	got := negative.withDefaults()
	if got.MaxTextRunes != 100 || got.MaxBodyBytes != 4096 || got.AppendTimeout != 2*time.Second || got.HistoryLimit != 50 {
		t.Errorf("negative fields did not take defaults: %+v", got)
	}
	if got := (Config{MaxConnsPerIP: -1}).withDefaults().MaxConnsPerIP; got != 0 {
		t.Errorf("MaxConnsPerIP -1 gives fasthttp %d; want 0 (no cap)", got)
	}
	if got := (Config{MaxConnsPerIP: 3}).withDefaults().MaxConnsPerIP; got != 3 {
		t.Errorf("MaxConnsPerIP 3 gives %d", got)
	}
	if got := (Config{HistoryLimit: 500, MaxHistoryLimit: 100}).withDefaults().HistoryLimit; got != 100 {
		t.Errorf("HistoryLimit above MaxHistoryLimit gives %d; want 100", got)
	}
}

// TestConfigLimits checks that non-default limits reach the handlers.
func TestConfigLimits(t *testing.T) {
	ts := startServer(t, Config{MaxTextRunes: 3, MaxNameRunes: 2, MaxBodyBytes: 40}, newMemory(), nil, nil)
	tests := []struct {
		body   string
		status int
		code   string
	}{
		{`{"text":"abc","name":"xy"}`, 201, ""},
		{`{"text":"abcd"}`, 400, CodeTextTooLong},
		{`{"text":"a","name":"xyz"}`, 400, CodeInvalidName},
		{`{"text":"a","pad":"` + strings.Repeat("x", 19) + `"}`, 201, ""},
		{`{"text":"a","pad":"` + strings.Repeat("x", 20) + `"}`, 413, CodeBodyTooLarge},
	}
	for _, tt := range tests {
		r := ts.post(t, "r", tt.body)
		if tt.code == "" {
			if r.status != tt.status {
				t.Errorf("POST %s: status %d; want %d (body %s)", tt.body, r.status, tt.status, r.body)
			}
			continue
		}
		checkError(t, tt.body, r, tt.status, tt.code)
	}
}
