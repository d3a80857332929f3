package ingest

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"
)

// FuzzClientAddr feeds clientAddr header lines (split at '\n') from a peer
// (4 or 16 bytes, else a trusted proxy's address), with and without
// trusted proxies, and checks what a client that writes those lines can
// and cannot obtain:
//   - the address is the peer's or one written in the lines;
//   - a peer that is not a trusted proxy gets its own address;
//   - lines count as one joined with commas;
//   - a line sent before the others (a forged first line) changes nothing
//     once the walk stopped at an address that is not a trusted proxy.
func FuzzClientAddr(f *testing.F) {
	for _, seed := range []struct {
		peer   []byte
		header string
		forged string
	}{
		{[]byte{10, 0, 0, 1}, "203.0.113.9, 192.0.2.1", "198.51.100.7"},
		{[]byte{10, 0, 0, 1}, "203.0.113.9\n192.0.2.1\n10.0.0.2", "10.0.0.9"},
		{[]byte{10, 0, 0, 1}, "10.0.0.3, 10.0.0.2", "192.0.2.99"},
		{[]byte{198, 51, 100, 1}, "192.0.2.1", ""},
		{[]byte{10, 0, 0, 1}, "unknown, ::ffff:10.0.0.2", "1.1.1.1"},
		{netip.MustParseAddr("2001:db8:ffff::1").AsSlice(), "fe80::1%eth0, 2001:db8:ffff::7", "2001:db8::1,"},
		{nil, "", "192.0.2.1"},
		{[]byte{10, 0, 0, 1}, "192.0.2.1,\n\n 10.0.0.2 ", "garbage"},
	} {
		f.Add(seed.peer, seed.header, seed.forged)
	}
	f.Fuzz(func(t *testing.T, peerBytes []byte, header, forged string) {
		peer, ok := netip.AddrFromSlice(peerBytes)
		if !ok {
			peer = netip.MustParseAddr("10.0.0.1")
		}
		peer = peer.Unmap()
		var lines [][]byte
		if header != "" {
			for line := range strings.SplitSeq(header, "\n") {
				lines = append(lines, []byte(line))
			}
		}
		written := map[netip.Addr]bool{peer: true}
		for value := range strings.SplitSeq(strings.ReplaceAll(header, "\n", ","), ",") {
			if addr, err := netip.ParseAddr(strings.Trim(value, " \t")); err == nil {
				written[addr.Unmap().WithZone("")] = true
			}
		}
		for _, trusted := range [][]netip.Prefix{nil, proxies} {
			got := clientAddr(peer, lines, trusted)
			if !written[got] {
				t.Fatalf("clientAddr(%s, %q, %v) = %s: neither the peer nor in the lines", peer, header, trusted, got)
			}
			if len(trusted) > 0 && !isTrusted(peer, trusted) && got != peer {
				t.Fatalf("clientAddr(%s, %q, %v) = %s; want the peer, no trusted proxy", peer, header, trusted, got)
			}
			if len(lines) > 0 {
				if joined := clientAddr(peer, [][]byte{bytes.Join(lines, []byte(","))}, trusted); joined != got {
					t.Fatalf("clientAddr(%s, %q, %v) = %s, and %s with the lines joined", peer, header, trusted, got, joined)
				}
				if !isTrusted(got, trusted) {
					if again := clientAddr(peer, append([][]byte{[]byte(forged)}, lines...), trusted); again != got {
						t.Fatalf("clientAddr(%s, %q, %v) = %s, and %s after a first line %q", peer, header, trusted, got, again, forged)
					}
				}
			}
		}
	})
}
