package ingest

import (
	"strings"
	"testing"

	"github.com/danmu-dev/danmu/codec"
	"github.com/danmu-dev/danmu/policy"
)

func defaultConfig() (*Config, *limitErrors) {
	cfg := Config{}.withDefaults()
	errs := newLimitErrors(&cfg)
	return &cfg, &errs
}

func TestDecodeComment(t *testing.T) {
	cfg, errs := defaultConfig()
	msg := func(text string) codec.Message {
		return codec.Message{UID: "anonymous", Name: "guest", Text: text, Color: "#ffffff", Mode: "scroll"}
	}
	tests := []struct {
		in   string
		want codec.Message
		code string // empty when accepted
	}{
		{`{"text":"hi"}`, msg("hi"), ""},
		{` {"text" : "hi"} `, msg("hi"), ""},
		{`{"text":"a b\u00e9"}`, msg("a bé"), ""},
		{`{"text":"\ud800"}`, msg("\ufffd"), ""},  // lone surrogate becomes U+FFFD
		{`{"text":"x","text":"y"}`, msg("y"), ""}, // the last key wins
		{`{"text":"x","color":null,"mode":null}`, msg("x"), ""},
		{`{"text":"x","uid":"a.b:c_d-e","name":"N","color":"#000000","mode":"bottom"}`,
			codec.Message{UID: "a.b:c_d-e", Name: "N", Text: "x", Color: "#000000", Mode: "bottom"}, ""},
		{`{"text":"` + strings.Repeat("é", 100) + `"}`, msg(strings.Repeat("é", 100)), ""},
		{"", codec.Message{}, CodeInvalidJSON},
		{"{", codec.Message{}, CodeInvalidJSON},
		{`"text"`, codec.Message{}, CodeInvalidJSON},
		{`null`, codec.Message{}, CodeInvalidJSON},
		{` [1]`, codec.Message{}, CodeInvalidJSON},
		{" \n{\"text\":\"hi\"} ", msg("hi"), ""},
		{`{"text":"x","cid":"c-1.a"}`, func() codec.Message { m := msg("x"); m.CID = "c-1.a"; return m }(), ""},
		{`{"text":"x","cid":"a b"}`, codec.Message{}, CodeInvalidCID},
		{`{"text":["a"]}`, codec.Message{}, CodeInvalidJSON},
		{`{"text":"a","uid":5}`, codec.Message{}, CodeInvalidJSON},
		{"{\"text\":\"\xe2\x82\"}", codec.Message{}, CodeInvalidJSON},
		{"{\"text\":\"a\"}\xff", codec.Message{}, CodeInvalidJSON},
		{"{\"text\":\"tab\there\"}", codec.Message{}, CodeInvalidJSON},
		{`{"text":"a",}`, codec.Message{}, CodeInvalidJSON},
		{`{}`, codec.Message{}, CodeEmptyText},
		{`{"text":null}`, codec.Message{}, CodeEmptyText},
		{`{"text":"` + strings.Repeat("é", 101) + `"}`, codec.Message{}, CodeTextTooLong},
		{`{"text":"a\rb"}`, codec.Message{}, CodeInvalidText},
		{`{"text":"\u0085"}`, codec.Message{}, CodeInvalidText},
		{`{"text":"\u2029"}`, codec.Message{}, CodeInvalidText},
		{`{"text":"a","color":"#12345"}`, codec.Message{}, CodeInvalidColor},
		{`{"text":"a","color":"#1234567"}`, codec.Message{}, CodeInvalidColor},
		{`{"text":"a","color":"123456#"}`, codec.Message{}, CodeInvalidColor},
		{`{"text":"a","mode":"Scroll"}`, codec.Message{}, CodeInvalidMode},
		{`{"text":"a","name":"\u0000"}`, codec.Message{}, CodeInvalidName},
		{`{"text":"a","name":"` + strings.Repeat("x", 33) + `"}`, codec.Message{}, CodeInvalidName},
		{`{"text":"a","uid":"ü"}`, codec.Message{}, CodeInvalidUID},
		{`{"text":"a","uid":"a/b"}`, codec.Message{}, CodeInvalidUID},
		{`{"text":"a","pad":"` + strings.Repeat("x", 4096) + `"}`, codec.Message{}, CodeBodyTooLarge},
	}
	for _, tt := range tests {
		got, apiErr := decodeComment([]byte(tt.in), cfg, errs)
		code := ""
		if apiErr != nil {
			code = apiErr.code
		}
		if code != tt.code || got != tt.want {
			t.Errorf("decodeComment(%q) = %+v, %q; want %+v, %q", tt.in, got, code, tt.want, tt.code)
		}
	}
}

// TestErrorCodesDistinct checks every error answer carries its own code
// and a well-formed body.
func TestErrorCodesDistinct(t *testing.T) {
	_, errs := defaultConfig()
	all := []*Error{
		errInvalidRoom, errUnsupportedMediaType, errInvalidJSON, errEmptyText, errInvalidText,
		errInvalidColor, errInvalidMode, errInvalidUID, errInvalidSince, errBadRequest,
		errRequestTimeout, errHeaderTooLarge, errNotFound, errMethodNotAllowed, errUnavailable,
		errInternal, errs.bodyTooLarge, errs.textTooLong, errs.invalidName, errs.invalidLimit,
		errUnauthorized, errForbidden, errBanned, errRateLimited, errSlowMode, errSpam,
		errContentRejected, errInvalidPrio, errInvalidID, errNoFilter, errReloadFailed,
		errs.invalidSlowMode, errHookUnavailable, rejectionAnswer(&policy.Rejection{}),
	}
	seen := make(map[string]bool)
	for _, e := range all {
		if seen[e.code] {
			t.Errorf("code %q used twice", e.code)
		}
		seen[e.code] = true
		if e.status < 400 || e.status > 599 {
			t.Errorf("code %q has status %d", e.code, e.status)
		}
		if want := `{"error":{"code":"` + e.code + `","message":"`; !strings.HasPrefix(string(e.body), want) {
			t.Errorf("body %s; want prefix %s", e.body, want)
		}
	}
}
