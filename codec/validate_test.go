package codec

import (
	"errors"
	"strings"
	"testing"
)

func TestMessageCheck(t *testing.T) {
	limits := Limits{MaxTextRunes: 5, MaxNameRunes: 3}
	ok := Message{UID: "u", Name: "名前", Text: "弾幕", Color: "#A1b2c3", Mode: ModeTop, CID: "c.1", Prio: 2}
	with := func(f func(*Message)) Message { m := ok; f(&m); return m }
	tests := []struct {
		name string
		m    Message
		want error
	}{
		{"valid", ok, nil},
		{"no cid", with(func(m *Message) { m.CID = "" }), nil},
		{"empty text", with(func(m *Message) { m.Text = "" }), ErrEmptyText},
		{"long text", with(func(m *Message) { m.Text = "abcdef" }), ErrTextTooLong},
		{"newline", with(func(m *Message) { m.Text = "a\nb" }), ErrControlChar},
		{"line separator", with(func(m *Message) { m.Text = "a\u2028" }), ErrControlChar},
		{"not UTF-8", with(func(m *Message) { m.Text = "a\xff" }), ErrInvalidUTF8},
		{"color", with(func(m *Message) { m.Color = "#fff" }), ErrInvalidColor},
		{"mode", with(func(m *Message) { m.Mode = "left" }), ErrInvalidMode},
		{"long name", with(func(m *Message) { m.Name = "abcd" }), ErrInvalidName},
		{"empty name", with(func(m *Message) { m.Name = "" }), ErrInvalidName},
		{"uid", with(func(m *Message) { m.UID = "a b" }), ErrInvalidUID},
		{"long uid", with(func(m *Message) { m.UID = strings.Repeat("u", MaxIDLen+1) }), ErrInvalidUID},
		{"cid", with(func(m *Message) { m.CID = `c"` }), ErrInvalidCID},
		{"prio", with(func(m *Message) { m.Prio = -1 }), ErrInvalidPrio},
		// The first rule broken is the one reported: text, color, mode,
		// name, uid, cid, prio.
		{"text before color", with(func(m *Message) { m.Text, m.Color = "", "x" }), ErrEmptyText},
		{"mode before name", with(func(m *Message) { m.Mode, m.Name = "x", "" }), ErrInvalidMode},
		{"uid before prio", with(func(m *Message) { m.UID, m.Prio = "", -1 }), ErrInvalidUID},
	}
	for _, tt := range tests {
		err := tt.m.Check(limits)
		if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
			t.Errorf("%s: Check(%+v) = %v; want %v", tt.name, tt.m, err, tt.want)
		}
	}
	// A name that breaks a text rule says both.
	long := with(func(m *Message) { m.Name = "abcd" })
	if err := long.Check(limits); !errors.Is(err, ErrTextTooLong) {
		t.Errorf("long name: %v; want it to wrap ErrTextTooLong", err)
	}
}
