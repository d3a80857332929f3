package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/gobwas/ws"
)

func closeBody(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

func TestParseCloseBody(t *testing.T) {
	tests := []struct {
		in     []byte
		code   ws.StatusCode
		reason string
		err    error
	}{
		{nil, ws.StatusNoStatusRcvd, "", nil},
		{closeBody(1000, ""), ws.StatusNormalClosure, "", nil},
		{closeBody(1001, "tab closed"), ws.StatusGoingAway, "tab closed", nil},
		{closeBody(1002, ""), ws.StatusProtocolError, "", nil},
		{closeBody(1003, ""), ws.StatusUnsupportedData, "", nil},
		{closeBody(1007, ""), ws.StatusInvalidFramePayloadData, "", nil},
		{closeBody(1008, ""), ws.StatusPolicyViolation, "", nil},
		{closeBody(1009, ""), ws.StatusMessageTooBig, "", nil},
		{closeBody(1010, ""), ws.StatusMandatoryExt, "", nil},
		{closeBody(1011, ""), ws.StatusInternalServerError, "", nil},
		{closeBody(1012, ""), 1012, "", nil},
		{closeBody(1013, ""), 1013, "", nil},
		{closeBody(1014, ""), 1014, "", nil},
		{closeBody(3000, "library"), 3000, "library", nil},
		{closeBody(3999, ""), 3999, "", nil},
		{closeBody(4000, "private"), 4000, "private", nil},
		{closeBody(4999, "弹幕"), 4999, "弹幕", nil},
		{[]byte{0x03}, 0, "", ErrCloseBodyShort},
		{closeBody(0, ""), 0, "", ErrCloseCode},
		{closeBody(999, ""), 0, "", ErrCloseCode},
		{closeBody(1004, ""), 0, "", ErrCloseCode},
		{closeBody(1005, ""), 0, "", ErrCloseCode},
		{closeBody(1006, ""), 0, "", ErrCloseCode},
		{closeBody(1015, ""), 0, "", ErrCloseCode},
		{closeBody(1016, ""), 0, "", ErrCloseCode},
		{closeBody(1100, ""), 0, "", ErrCloseCode},
		{closeBody(2000, ""), 0, "", ErrCloseCode},
		{closeBody(2999, ""), 0, "", ErrCloseCode},
		{closeBody(5000, ""), 0, "", ErrCloseCode},
		{closeBody(65535, ""), 0, "", ErrCloseCode},
		{closeBody(1000, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"), 0, "", ErrCloseReasonUTF8},
		{closeBody(1000, "cut \xe5\xbc"), 0, "", ErrCloseReasonUTF8},
	}
	for _, tt := range tests {
		code, reason, err := ParseCloseBody(tt.in)
		if code != tt.code || reason != tt.reason || err != tt.err {
			t.Errorf("ParseCloseBody(%x) = %d, %q, %v; want %d, %q, %v", tt.in, code, reason, err, tt.code, tt.reason, tt.err)
		}
	}
}

func TestParseCloseBodyCodes(t *testing.T) {
	for _, tt := range []struct {
		err  error
		code ws.StatusCode
	}{
		{ErrCloseBodyShort, ws.StatusProtocolError},
		{ErrCloseCode, ws.StatusProtocolError},
		{ErrCloseReasonUTF8, ws.StatusInvalidFramePayloadData},
	} {
		var fe *FrameError
		if !errors.As(tt.err, &fe) || fe.Code != tt.code {
			t.Errorf("%v: close code %v; want %d", tt.err, fe, tt.code)
		}
	}
}

func TestAppendPingPong(t *testing.T) {
	tests := []struct {
		got, want []byte
	}{
		{AppendPing(nil, nil), []byte{0x89, 0x00}},
		{AppendPing([]byte{1}, []byte("hi")), []byte{1, 0x89, 0x02, 'h', 'i'}},
		{AppendPong(nil, nil), []byte{0x8a, 0x00}},
		{AppendPong(nil, bytes.Repeat([]byte{'p'}, 125)), append([]byte{0x8a, 125}, bytes.Repeat([]byte{'p'}, 125)...)},
	}
	for i, tt := range tests {
		if !bytes.Equal(tt.got, tt.want) {
			t.Errorf("case %d: got %x; want %x", i, tt.got, tt.want)
		}
	}
}
