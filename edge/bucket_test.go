package edge

import (
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	var b bucket
	start := time.Unix(1000, 0).UnixNano()
	for i := range 3 {
		if !b.take(start, 2, 3) {
			t.Fatalf("take %d of a full bucket of 3 = false; want true", i+1)
		}
	}
	if b.take(start, 2, 3) {
		t.Fatal("take of an empty bucket = true; want false")
	}
	if !b.take(start+int64(500*time.Millisecond), 2, 3) {
		t.Fatal("take half a second later at 2/s = false; want true")
	}
	if b.take(start+int64(600*time.Millisecond), 2, 3) {
		t.Fatal("take 0.1 s after the last token at 2/s = true; want false")
	}
	if !b.take(start+int64(time.Hour), 2, 3) {
		t.Fatal("take an hour later = false; want true")
	}
	if b.tokens != 2 {
		t.Errorf("tokens after an hour and one take = %v; want the burst less one, 2", b.tokens)
	}
}
