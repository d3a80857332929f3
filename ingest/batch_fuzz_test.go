package ingest

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzDecodeBatch checks that decodeBatch never panics, that what it
// accepts is a UTF-8 object of 1 to MaxBatch comments within
// MaxBatchBytes, that decodeComment refuses each comment that is not
// JSON, and that valid comments re-encode to a body that decodes to as
// many comments.
func FuzzDecodeBatch(f *testing.F) {
	for _, seed := range []string{
		batchOf(`{"text":"hello"}`),
		batchOf(`{"text":"弾幕 ok","color":"#A1b2C3","mode":"top","name":"小明","uid":"u-42","cid":"c"}`, `{"text":""}`, `5`, `null`),
		`{"comments":[]}`,
		`{"comments":null}`,
		`{"comments":{"text":"a"}}`,
		`{"comments":[{"text":"a"}],"comments":[{"text":"b"},{"text":"c"}]}`,
		`{"comments":[{"text":"\u00e9\ud83d\ude00 \"q\""}],"extra":[1,{"a":null}]}`,
		"{\"comments\":[{\"text\":\"h\xffi\"}]}",
		`[{"text":"a"}]`,
		`{"comments":[{"text":"a"}`,
		``,
		batchOf(strings.Repeat(`{"text":"x"},`, 100) + `{"text":"y"}`),
	} {
		f.Add([]byte(seed))
	}
	cfg, errs := defaultConfig()
	f.Fuzz(func(t *testing.T, body []byte) {
		comments, apiErr := decodeBatch(nil, body, cfg, errs)
		if apiErr != nil {
			if len(comments) != 0 {
				t.Fatalf("decodeBatch(%q) = %d comments and %v", body, len(comments), apiErr)
			}
			return
		}
		if len(body) > cfg.MaxBatchBytes || !utf8.Valid(body) || len(comments) == 0 || len(comments) > cfg.MaxBatch {
			t.Fatalf("decodeBatch(%q) accepted %d comments", body, len(comments))
		}
		valid := true
		for _, raw := range comments {
			// A raw comment is checked as sonic skips a value, without
			// all of its escapes (skipString): such a comment must then
			// be refused on its own.
			msg, apiErr := decodeComment(raw, cfg, errs)
			if !json.Valid(raw) {
				valid = false
				if apiErr == nil {
					t.Fatalf("decodeComment(%q) accepted a comment that is not JSON", raw)
				}
				continue
			}
			if apiErr == nil && !utf8.ValidString(msg.Text) {
				t.Fatalf("decodeComment(%q) accepted invalid UTF-8", raw)
			}
		}
		if !valid {
			return
		}
		var out struct {
			Comments []json.RawMessage `json:"comments"`
		}
		for _, raw := range comments {
			out.Comments = append(out.Comments, raw)
		}
		again, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		round, apiErr := decodeBatch(nil, again, cfg, errs)
		if apiErr != nil && len(again) <= cfg.MaxBatchBytes {
			t.Fatalf("re-encoded %q: %v", again, apiErr)
		}
		if apiErr == nil && len(round) != len(comments) {
			t.Fatalf("re-encoded %q: %d comments; want %d", again, len(round), len(comments))
		}
	})
}
