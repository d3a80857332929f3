package codec

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// storedBody is the body of a record as sonic encoded it before
// AppendStored wrote it by hand: the oracle of TestAppendStoredSonic and
// FuzzAppendStored.
type storedBody struct {
	Name  string `json:"name"`
	Text  string `json:"text"`
	Color string `json:"color"`
	Mode  string `json:"mode"`
	TS    int64  `json:"ts"`
}

// sonicStored is the record of m as EncodeStored wrote it with sonic: the
// header AppendStored writes, then sonic's body.
func sonicStored(t testing.TB, m Message) (record, body []byte) {
	t.Helper()
	body, err := JSON.Marshal(&storedBody{Name: m.Name, Text: m.Text, Color: m.Color, Mode: m.Mode, TS: m.TS})
	if err != nil {
		t.Fatalf("sonic: %v", err)
	}
	data, err := EncodeStored(m)
	if err != nil {
		t.Fatalf("EncodeStored(%+v): %v", m, err)
	}
	_, ours, err := splitRecord(data)
	if err != nil {
		t.Fatalf("EncodeStored(%+v) = %q: %v", m, data, err)
	}
	return append(data[:len(data)-len(ours):len(data)-len(ours)], body...), body
}

// escapedApart reports whether s holds a character that appendJSONString
// and sonic escape differently: \b and \f (short escapes against \u0008
// and \u000c) and U+2028 and U+2029 (escaped against raw). CheckText
// refuses all four.
func escapedApart(s string) bool {
	return strings.ContainsAny(s, "\b\f\u2028\u2029")
}

// checkStoredLikeSonic checks that the record of m is the one sonic's body
// gave, byte for byte, unless m has a character the two escape apart; then
// both bodies must decode to the same values.
func checkStoredLikeSonic(t testing.TB, m Message) {
	t.Helper()
	want, sonicBody := sonicStored(t, m)
	got, err := AppendStored([]byte("prefix"), &m, StoreOptions{})
	if err != nil || !bytes.HasPrefix(got, []byte("prefix")) {
		t.Fatalf("AppendStored(prefix, %+v) = %q, %v", m, got, err)
	}
	got = got[len("prefix"):]
	apart := escapedApart(m.Name) || escapedApart(m.Text) || escapedApart(m.Color) || escapedApart(m.Mode)
	if lenient := (Limits{MaxTextRunes: math.MaxInt, MaxNameRunes: math.MaxInt}); m.Check(lenient) == nil && apart {
		t.Fatalf("valid message %+v has a character escaped apart", m)
	}
	if !apart {
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendStored(%+v) = %q; sonic gave %q", m, got, want)
		}
		return
	}
	_, body, err := splitRecord(got)
	if err != nil {
		t.Fatalf("AppendStored(%+v) = %q: %v", m, got, err)
	}
	var ours, theirs storedBody
	if err := json.Unmarshal(body, &ours); err != nil {
		t.Fatalf("body %q of %+v: %v", body, m, err)
	}
	if err := json.Unmarshal(sonicBody, &theirs); err != nil || ours != theirs {
		t.Fatalf("body %q of %+v decodes to %+v; sonic's %q to %+v, %v", body, m, ours, sonicBody, theirs, err)
	}
}

// TestAppendStoredSonic checks the hand-written body against sonic's for
// the characters JSON escapes, invalid UTF-8 and the extremes of ts.
func TestAppendStoredSonic(t *testing.T) {
	var ascii strings.Builder
	for c := range 0x80 {
		ascii.WriteByte(byte(c))
	}
	texts := []string{
		"hi", "弾幕 <b>&amp;</b> 'q' \"quoted\" back\\slash /", "\u2028\u2029", "\ufffd", "😀", "\u00ad\u200b\ufeff",
		ascii.String(), "a\xffb", "\xed\xa0\x80", "\xe2\x82", "é\xc3", "\xf4\x90\x80\x80", "\xc0\xaf", "\x7f\u0085",
		"",
	}
	for _, text := range texts {
		for _, ts := range []int64{0, 1700000000000, -1, math.MinInt64, math.MaxInt64} {
			checkStoredLikeSonic(t, Message{UID: "u", Name: text, Text: text, Color: text, Mode: text, TS: ts})
		}
	}
	for _, m := range sampleMessages {
		checkStoredLikeSonic(t, m)
	}
}

// FuzzAppendStored checks AppendStored against sonic, the encoder it
// replaced (checkStoredLikeSonic), for any strings and ts.
func FuzzAppendStored(f *testing.F) {
	for _, m := range sampleMessages {
		f.Add(m.Name, m.Text, m.Color, m.Mode, m.TS)
	}
	f.Add("\b\f\n\r\t\x00\x1f", "\"\\/", "\u2028", "\xff", int64(-1))
	f.Add("名前", "弾幕 😀 \u00e9", "#A1b2C3", "bottom", int64(math.MaxInt64))
	f.Fuzz(func(t *testing.T, name, text, color, mode string, ts int64) {
		checkStoredLikeSonic(t, Message{UID: "u-1", CID: "c-1", Prio: 2, Name: name, Text: text, Color: color, Mode: mode, TS: ts})
	})
}
