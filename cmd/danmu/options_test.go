package main

import "testing"

func TestPrefixList(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"10.0.0.0/8", "10.0.0.0/8"},
		{" 192.0.2.1 , 2001:db8::/32,,", "192.0.2.1/32,2001:db8::/32"},
		{"10.1.2.3/8", "10.0.0.0/8"},
		{"::1", "::1/128"},
		{"::ffff:10.0.0.1", "10.0.0.1/32"},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8"},
		{"0.0.0.0/0,::/0", "0.0.0.0/0,::/0"},
	}
	for _, tt := range tests {
		var p prefixList
		if err := p.Set(tt.in); err != nil || p.String() != tt.want {
			t.Errorf("Set(%q) = %q, %v; want %q", tt.in, p.String(), err, tt.want)
		}
	}
	for _, in := range []string{"10.0.0.0/33", "10.0.0", "proxy.example", "fe80::1%eth0", "10.0.0.1/", "/8", "10.0.0.1:80"} {
		var p prefixList
		if err := p.Set(in); err == nil {
			t.Errorf("Set(%q) = %q, nil; want an error", in, p.String())
		}
	}
}
