package codec

import (
	"errors"
	"strings"
	"testing"
)

// FuzzParseID checks that ParseID accepts only IDs, and that what it
// accepts prints back in canonical form and parses to the same ID.
func FuzzParseID(f *testing.F) {
	for _, seed := range []string{
		"0-0", "0", "1-2", "1700000000000-0", "1700000000000-41", "1700000000000",
		"007-008", "18446744073709551615-18446744073709551615", "18446744073709551616-0",
		"", "-", "1-", "-1", "+1-2", "1-2-3", " 1-2", "1-2 ", "*", "$", "0x10-1",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseID(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidID) || id != (ID{}) {
				t.Fatalf("ParseID(%q) = %v, %v; want zero ID, ErrInvalidID", s, id, err)
			}
			return
		}
		if strings.Trim(s, "0123456789-") != "" || strings.Count(s, "-") > 1 {
			t.Fatalf("ParseID(%q) = %v, nil; want an error", s, id)
		}
		printed := id.String()
		again, err := ParseID(printed)
		if err != nil || again != id {
			t.Fatalf("ParseID(%q) = %v, %v; want %v, nil (from ParseID(%q))", printed, again, err, id, s)
		}
		if again.String() != printed {
			t.Fatalf("%v.String() = %q; want %q", again, again.String(), printed)
		}
		if canonical := strings.Contains(s, "-") && !strings.HasPrefix(s, "0") && !strings.Contains(s, "-0"); canonical && printed != s {
			t.Fatalf("ParseID(%q).String() = %q; want the input back", s, printed)
		}
	})
}
