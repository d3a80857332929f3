package ingest

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/danmu-dev/danmu/codec"

	"github.com/danmu-dev/danmu/policy"
	"github.com/danmu-dev/danmu/stream"
)

// testHook is a policy.Hook built from functions; nil ones do nothing.
type testHook struct {
	name   string
	before func(ctx context.Context, c *policy.Comment) error
	after  func(ctx context.Context, c *policy.Comment, id codec.ID)
}

func (h *testHook) Name() string { return h.name }

func (h *testHook) Before(ctx context.Context, c *policy.Comment) error {
	if h.before == nil {
		return nil
	}
	return h.before(ctx, c)
}

func (h *testHook) After(ctx context.Context, c *policy.Comment, id codec.ID) {
	if h.after != nil {
		h.after(ctx, c, id)
	}
}

// startHookServer serves cfg with hooks added, logging to logs.
func startHookServer(t *testing.T, cfg Config, mem *stream.Memory, logs *syncBuffer, hooks ...policy.Hook) *testServer {
	t.Helper()
	srv := New(cfg, mem, fixedPresence{}, slog.New(slog.NewTextHandler(logs, nil)))
	srv.Use(hooks...)
	return serveServer(t, srv)
}

// TestHooksRewrite checks added hooks run in order after the built-in
// ones, see the user and the filtered text, may rewrite the comment and
// raise its prio, and that After sees the stored id.
func TestHooksRewrite(t *testing.T) {
	f, err := policy.LoadFilter(writeWords(t, "", "darn"), policy.FilterMask)
	if err != nil {
		t.Fatal(err)
	}
	mem := newMemory()
	var mu sync.Mutex
	var order []string
	var afterIDs []string
	record := func(s string) {
		mu.Lock()
		order = append(order, s)
		mu.Unlock()
	}
	paid := &testHook{
		name: "paid",
		before: func(ctx context.Context, c *policy.Comment) error {
			record("paid:" + c.User.ID + ":" + c.Message.Text)
			if _, ok := ctx.Deadline(); !ok {
				t.Error("Before got a context without deadline")
			}
			if strings.HasPrefix(c.Message.Text, "$") {
				c.Message.Prio = 2
				c.Message.Color = "#ffd700"
			}
			return nil
		},
		after: func(ctx context.Context, c *policy.Comment, id codec.ID) {
			if _, ok := ctx.Deadline(); !ok {
				t.Error("After got a context without deadline")
			}
			mu.Lock()
			afterIDs = append(afterIDs, id.String())
			mu.Unlock()
		},
	}
	tag := &testHook{
		name: "tag",
		before: func(ctx context.Context, c *policy.Comment) error {
			record("tag:" + c.Message.Text)
			c.Message.Text = "[" + c.Message.Text + "]"
			return nil
		},
	}
	ts := startHookServer(t, authConfig(t, Config{Policy: policy.Config{Filter: f}}), mem, &syncBuffer{}, paid, tag)
	id := ts.postAs(t, "r", mint(t, "u1", "", ""), `{"text":"$ darn nice"}`)
	m := storedMessage(t, mem, "r", id)
	if m.Text != "[$ **** nice]" || m.Prio != 2 || m.Color != "#ffd700" || m.UID != "u1" {
		t.Errorf("stored %+v", m)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := "paid:u1:$ **** nice|tag:$ **** nice"; strings.Join(order, "|") != want {
		t.Errorf("hooks ran as %q; want %q", strings.Join(order, "|"), want)
	}
	if len(afterIDs) != 1 || afterIDs[0] != id {
		t.Errorf("After saw %q; want [%s]", afterIDs, id)
	}
}

// TestHookErrors checks the answers to a refusing, failing, panicking and
// misbehaving hook, and that the server keeps serving.
func TestHookErrors(t *testing.T) {
	var logs syncBuffer
	mem := newMemory()
	var afterRuns int
	var mu sync.Mutex
	paymentRequired := NewError(http.StatusPaymentRequired, "payment_required", "top up first")
	gate := &testHook{
		name: "gate",
		before: func(ctx context.Context, c *policy.Comment) error {
			switch c.Message.Text {
			case "refuse":
				return paymentRequired
			case "refuse wrapped":
				return errors.Join(errors.New("context"), paymentRequired.WithRetryAfter(1500e6))
			case "fail":
				return errors.New("gate: lookup failed")
			case "unavailable":
				return policy.ErrUnavailable
			case "panic":
				panic("gate exploded")
			case "invalid":
				c.Message.Text = "two\nlines"
			case "nil map":
				var m map[string]int
				m["x"] = 1
			}
			return nil
		},
	}
	counter := &testHook{
		name: "counter",
		before: func(ctx context.Context, c *policy.Comment) error {
			if c.Message.Text == "refuse" {
				t.Error("a hook after the refusing one ran")
			}
			return nil
		},
		after: func(ctx context.Context, c *policy.Comment, id codec.ID) {
			mu.Lock()
			afterRuns++
			mu.Unlock()
			if c.Message.Text == "panic after" {
				panic("counter exploded after")
			}
		},
	}
	ts := startHookServer(t, Config{}, mem, &logs, gate, counter)
	tests := []struct {
		text   string
		status int
		code   string
		log    string
	}{
		{"refuse", 402, "payment_required", ""},
		{"refuse wrapped", 402, "payment_required", ""},
		{"fail", 500, CodeInternal, `msg="ingest: hook failed" hook=gate`},
		{"unavailable", 503, CodeUnavailable, `msg="ingest: hook unavailable" hook=gate`},
		{"panic", 500, CodeInternal, `msg="ingest: hook panicked in Before" hook=gate`},
		{"nil map", 500, CodeInternal, `msg="ingest: hook panicked in Before" hook=gate`},
		{"invalid", 500, CodeInternal, `msg="ingest: hook left an invalid comment" hook=gate`},
	}
	for _, tt := range tests {
		r := ts.post(t, "r", `{"text":"`+tt.text+`"}`)
		checkError(t, tt.text, r, tt.status, tt.code)
		if tt.log != "" && !strings.Contains(logs.String(), tt.log) {
			t.Errorf("%s: log lacks %s:\n%s", tt.text, tt.log, logs.String())
		}
	}
	if r := ts.post(t, "r", `{"text":"refuse wrapped"}`); r.header.Get("Retry-After") != "2" {
		t.Errorf("Retry-After %q; want 2", r.header.Get("Retry-After"))
	}
	if !strings.Contains(logs.String(), "panic=\"gate exploded\"") || !strings.Contains(logs.String(), "stack=") {
		t.Errorf("panic value or stack not logged:\n%s", logs.String())
	}
	if last, err := mem.Last(t.Context(), "r"); err != nil || !last.IsZero() {
		t.Errorf("a refused comment was stored: %v %v", last, err)
	}

	// The server keeps serving, and a panic in After still answers 201.
	ts.postAs(t, "r", "", `{"text":"fine"}`)
	ts.postAs(t, "r", "", `{"text":"panic after"}`)
	if !strings.Contains(logs.String(), `msg="ingest: hook panicked in After" hook=counter`) {
		t.Errorf("After panic not logged:\n%s", logs.String())
	}
	ts.postAs(t, "r", "", `{"text":"still fine"}`)
	mu.Lock()
	defer mu.Unlock()
	if afterRuns != 3 {
		t.Errorf("After ran %d times; want 3", afterRuns)
	}
}

func TestUseNil(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Use(nil) did not panic")
		}
	}()
	New(Config{}, newMemory(), fixedPresence{}, nil).Use(nil)
}

func TestNewError(t *testing.T) {
	e := NewError(http.StatusTeapot, "teapot", "short and stout")
	if e.Status() != 418 || e.Code() != "teapot" || e.Error() != "teapot: short and stout" {
		t.Errorf("NewError = %d %q %q", e.Status(), e.Code(), e.Error())
	}
	if string(e.body) != `{"error":{"code":"teapot","message":"short and stout"}}` {
		t.Errorf("body %s", e.body)
	}
	for _, status := range []int{200, 399, 600} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewError(%d) did not panic", status)
				}
			}()
			NewError(status, "x", "y")
		}()
	}
}

// TestBuiltinChain checks which built-in hooks each Config gets, in order.
func TestBuiltinChain(t *testing.T) {
	names := func(cfg Config) string {
		var s []string
		for _, l := range builtinChain(&cfg, policy.NewMemory()) {
			s = append(s, l.hook.Name())
		}
		return strings.Join(s, ",")
	}
	f, err := policy.LoadFilter(writeWords(t, "", "x"), policy.FilterReject)
	if err != nil {
		t.Fatal(err)
	}
	v := newVerifier(t)
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{}, "auth,priority"},
		{Config{Auth: v}, "auth,priority,ban,slowmode"},
		{Config{Policy: policy.Config{IPLimit: slowLimit}}, "auth,priority,ratelimit"},
		{Config{Auth: v, Policy: policy.Config{UserLimit: slowLimit, Filter: f, SpamWindow: 1}}, "auth,priority,ban,ratelimit,filter,spam,slowmode"},
	}
	for _, tt := range tests {
		if got := names(tt.cfg); got != tt.want {
			t.Errorf("chain %s; want %s", got, tt.want)
		}
	}
}
