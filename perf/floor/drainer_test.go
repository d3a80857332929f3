package floor

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestDrainerReadsAndCloses checks that a Drainer reads what arrives and
// lets go of a socket whose peer closed.
func TestDrainerReadsAndCloses(t *testing.T) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDrainer()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Add(pair[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Write(pair[1], []byte("hello")); err != nil {
		t.Fatal(err)
	}
	for i := 0; d.Bytes < 5 && i < 100; i++ {
		if err := d.Wait(10); err != nil {
			t.Fatal(err)
		}
	}
	if d.Bytes != 5 || d.Reads != 1 {
		t.Errorf("after one write of 5 bytes: Bytes %d, Reads %d; want 5, 1", d.Bytes, d.Reads)
	}
	_ = unix.Close(pair[1])
	for i := 0; d.Open() > 0 && i < 100; i++ {
		if err := d.Wait(10); err != nil {
			t.Fatal(err)
		}
	}
	if d.Open() != 0 {
		t.Errorf("Open() = %d after the peer closed; want 0", d.Open())
	}
}
