package main

import (
	"slices"
	"strings"
	"testing"
)

// FuzzAddrList checks that any --redis value parses into trimmed, non-empty
// addresses without commas, and that String gives back a value that parses
// the same.
func FuzzAddrList(f *testing.F) {
	for _, seed := range []string{"", "127.0.0.1:6379", "a:1,b:2", " a:1 , ,b:2, ", "[::1]:6379,a:1", ",,,", "\t x \n"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var a addrList
		if err := a.Set(in); err != nil {
			t.Fatalf("Set(%q) = %v", in, err)
		}
		for _, addr := range a {
			if addr == "" || addr != strings.TrimSpace(addr) || strings.Contains(addr, ",") {
				t.Fatalf("Set(%q) gave address %q", in, addr)
			}
		}
		var again addrList
		if err := again.Set(a.String()); err != nil || !slices.Equal(again, a) {
			t.Fatalf("Set(%q) = %q; Set(String()) = %q, %v", in, []string(a), []string(again), err)
		}
	})
}

// FuzzPrefixList checks that any --trusted-proxies value either fails or
// parses into masked prefixes, and that String gives back a value that
// parses the same.
func FuzzPrefixList(f *testing.F) {
	for _, seed := range []string{"", "10.0.0.0/8", " 192.0.2.1 , 2001:db8::/32,,", "::ffff:10.0.0.0/104", "10.0.0.0/33", "fe80::1%eth0", "x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var p prefixList
		if err := p.Set(in); err != nil {
			return
		}
		for _, prefix := range p {
			if !prefix.IsValid() || prefix != prefix.Masked() || prefix.Addr().Is4In6() {
				t.Fatalf("Set(%q) gave prefix %s", in, prefix)
			}
		}
		var again prefixList
		if err := again.Set(p.String()); err != nil || !slices.Equal(again, p) {
			t.Fatalf("Set(%q) = %s; Set(String()) = %s, %v", in, &p, &again, err)
		}
	})
}
