package edge

// bucket is a token bucket: it holds up to burst tokens and gains rate
// tokens a second. It is owned by its connection's loop.
type bucket struct {
	tokens float64
	last   int64 // Unix ns of the last refill; zero before the first take
}

// take takes one token at Unix ns now and reports whether there was one.
// A new bucket starts full.
func (b *bucket) take(now int64, rate, burst float64) bool {
	if b.last == 0 {
		b.tokens = burst
	} else {
		b.tokens = min(burst, b.tokens+float64(now-b.last)*rate/1e9)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
