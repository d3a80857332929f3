package policy

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/danmu-dev/danmu/auth"
	"github.com/danmu-dev/danmu/codec"
)

// TestHooks checks which built-in hooks each Config gets, in order.
func TestHooks(t *testing.T) {
	f, err := LoadFilter(writeWords(t, "", "x"), FilterReject)
	if err != nil {
		t.Fatal(err)
	}
	limit := Limit{Rate: 0.5, Burst: 2}
	tests := []struct {
		cfg       Config
		moderated bool
		want      string
	}{
		{Config{}, false, "priority"},
		{Config{}, true, "priority,ban,slowmode"},
		{Config{RoomLimit: limit}, false, "priority,ratelimit"},
		{Config{UserLimit: limit, Filter: f, SpamWindow: 1}, true, "priority,ban,ratelimit,filter,spam,slowmode"},
	}
	for _, tt := range tests {
		var names []string
		for _, h := range Hooks(tt.cfg, tt.moderated) {
			names = append(names, h.Name())
		}
		if got := strings.Join(names, ","); got != tt.want {
			t.Errorf("Hooks(%+v, %v) = %s; want %s", tt.cfg, tt.moderated, got, tt.want)
		}
	}
}

// TestRefusals posts twice through the built-in hooks of each rule and
// checks what refuses which post, with what error, and that admins pass.
func TestRefusals(t *testing.T) {
	ctx := t.Context()
	f, err := LoadFilter(writeWords(t, "", "darn"), FilterReject)
	if err != nil {
		t.Fatal(err)
	}
	banned := NewMemory()
	if err := banned.Ban(ctx, "r", "u1", time.Minute); err != nil {
		t.Fatal(err)
	}
	slow := NewMemory()
	if err := slow.SetSlowMode(ctx, "r", time.Minute); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		cfg           Config
		moderated     bool
		text          string
		prio          int
		first, second error // want, for a viewer's first and second post
		retry         bool  // the second refusal has a RetryAfter
	}{
		{"prio", Config{}, false, "hi", 1, ErrPrio, ErrPrio, false},
		{"ban", Config{Store: banned}, true, "hi", 0, ErrBanned, ErrBanned, false},
		{"rate limit", Config{UserLimit: Limit{Rate: 0.5, Burst: 1}}, false, "hi", 0, nil, ErrRateLimited, true},
		{"filter", Config{Filter: f}, false, "oh DARN", 0, ErrContentRejected, ErrContentRejected, false},
		{"spam", Config{SpamWindow: time.Minute}, false, "hi", 0, nil, ErrSpam, true},
		{"slow mode", Config{Store: slow}, true, "hi", 0, nil, ErrSlowMode, true},
	}
	for _, tt := range tests {
		hooks := Hooks(tt.cfg, tt.moderated)
		post := func(role string) error {
			c := &Comment{Room: "r", Message: codec.Message{UID: "u1", Text: tt.text, Prio: tt.prio}, User: User{ID: "u1", Role: role}}
			for _, h := range hooks {
				if err := h.Before(ctx, c); err != nil {
					return err
				}
			}
			return nil
		}
		for i, want := range []error{tt.first, tt.second} {
			err := post(auth.RoleViewer)
			if !errors.Is(err, want) {
				t.Errorf("%s: post %d = %v; want %v", tt.name, i+1, err, want)
			}
		}
		var retry *RetryError
		if err := post(auth.RoleViewer); errors.As(err, &retry) != tt.retry || (tt.retry && retry.RetryAfter <= 0) {
			t.Errorf("%s: refusal %v; want a RetryError with a wait: %v", tt.name, err, tt.retry)
		}
		if tt.name == "filter" {
			continue // admins are filtered too
		}
		for range 2 {
			if err := post(auth.RoleAdmin); err != nil {
				t.Errorf("%s: an admin's post = %v; want it to pass", tt.name, err)
			}
		}
	}
}
