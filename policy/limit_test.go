package policy

import (
	"net/netip"
	"testing"
)

func TestAddressKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"::1", "::/64"},
	}
	for _, tt := range tests {
		if got := addressKey(netip.MustParseAddr(tt.in)); got != tt.want {
			t.Errorf("addressKey(%s) = %q; want %q", tt.in, got, tt.want)
		}
	}
}
