package codec

import (
	"errors"
	"math"
	"testing"
)

func TestParseID(t *testing.T) {
	tests := []struct {
		in   string
		want ID
	}{
		{"0-0", ID{}},
		{"0", ID{}},
		{"1-2", ID{MS: 1, Seq: 2}},
		{"1700000000000-0", ID{MS: 1700000000000}},
		{"1700000000000-41", ID{MS: 1700000000000, Seq: 41}},
		{"1700000000000", ID{MS: 1700000000000}},
		{"007-008", ID{MS: 7, Seq: 8}},
		{"18446744073709551615-18446744073709551615", ID{MS: math.MaxUint64, Seq: math.MaxUint64}},
	}
	for _, tt := range tests {
		got, err := ParseID(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseID(%q) = %v, %v; want %v, nil", tt.in, got, err, tt.want)
		}
	}
}

func TestParseIDInvalid(t *testing.T) {
	for _, in := range []string{
		"", "-", "1-", "-1", "--", "+1", "+1-2", "1-+2", "1--2", "1-2-3", "-1-2",
		"18446744073709551616", "18446744073709551616-0", "0-18446744073709551616",
		" 1-2", "1-2 ", "1 -2", "1- 2", "\t1", "1-2\n",
		"a", "1-b", "0x1-2", "1_0-2", "1.5-2", "1-2.0", "*", "$", ">", "٣-1",
	} {
		got, err := ParseID(in)
		if !errors.Is(err, ErrInvalidID) || got != (ID{}) {
			t.Errorf("ParseID(%q) = %v, %v; want zero ID, ErrInvalidID", in, got, err)
		}
	}
}

func TestIDString(t *testing.T) {
	tests := []struct {
		in   ID
		want string
	}{
		{ID{}, "0-0"},
		{ID{MS: 1, Seq: 2}, "1-2"},
		{ID{MS: 1700000000000}, "1700000000000-0"},
		{ID{Seq: 5}, "0-5"},
		{ID{MS: math.MaxUint64, Seq: math.MaxUint64}, "18446744073709551615-18446744073709551615"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("%#v.String() = %q; want %q", tt.in, got, tt.want)
		}
		if got := string(tt.in.AppendTo([]byte("id:"))); got != "id:"+tt.want {
			t.Errorf("%#v.AppendTo(\"id:\") = %q; want %q", tt.in, got, "id:"+tt.want)
		}
	}
}

func TestIDLess(t *testing.T) {
	tests := []struct {
		a, b ID
		want bool
	}{
		{ID{}, ID{}, false},
		{ID{}, ID{Seq: 1}, true},
		{ID{Seq: 1}, ID{}, false},
		{ID{MS: 1, Seq: 9}, ID{MS: 2}, true},
		{ID{MS: 2}, ID{MS: 1, Seq: 9}, false},
		{ID{MS: 5, Seq: 1}, ID{MS: 5, Seq: 2}, true},
		{ID{MS: 5, Seq: 2}, ID{MS: 5, Seq: 2}, false},
		{ID{MS: 5, Seq: math.MaxUint64}, ID{MS: 6}, true},
		{ID{MS: math.MaxUint64}, ID{MS: math.MaxUint64, Seq: 1}, true},
	}
	for _, tt := range tests {
		if got := tt.a.Less(tt.b); got != tt.want {
			t.Errorf("%v.Less(%v) = %v; want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestIDIsZero(t *testing.T) {
	for _, tt := range []struct {
		in   ID
		want bool
	}{
		{ID{}, true},
		{ID{Seq: 1}, false},
		{ID{MS: 1}, false},
	} {
		if got := tt.in.IsZero(); got != tt.want {
			t.Errorf("%v.IsZero() = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func TestIDNext(t *testing.T) {
	tests := []struct {
		in, want ID
	}{
		{ID{}, ID{Seq: 1}},
		{ID{MS: 7, Seq: 3}, ID{MS: 7, Seq: 4}},
		{ID{MS: 7, Seq: math.MaxUint64}, ID{MS: 8}},
		{ID{MS: math.MaxUint64, Seq: 3}, ID{MS: math.MaxUint64, Seq: 4}},
	}
	for _, tt := range tests {
		got := tt.in.Next()
		if got != tt.want {
			t.Errorf("%v.Next() = %v; want %v", tt.in, got, tt.want)
		}
		if !tt.in.Less(got) {
			t.Errorf("%v.Less(%v.Next()) = false; want true", tt.in, tt.in)
		}
	}
}
