package baseline

import (
	"strconv"
	"sync"
	"time"
)

// idGen hands out message IDs of danmu's form "<unix ms>-<seq>", the
// sequence counting messages within one millisecond.
type idGen struct {
	mu struct {
		sync.Mutex
		lastMS int64
		seq    int64
	}
}

// next returns the next ID and its time in unix milliseconds.
func (g *idGen) next(now time.Time) (string, int64) {
	ms := now.UnixMilli()
	g.mu.Lock()
	if ms <= g.mu.lastMS {
		ms = g.mu.lastMS
		g.mu.seq++
	} else {
		g.mu.lastMS = ms
		g.mu.seq = 0
	}
	seq := g.mu.seq
	g.mu.Unlock()
	return strconv.FormatInt(ms, 10) + "-" + strconv.FormatInt(seq, 10), ms
}
