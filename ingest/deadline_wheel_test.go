package ingest

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// inSlot returns the deadlines of cs that are in deadlineTimers' slot n.
func inSlot(n int64, cs []*deadline) int {
	ours := make(map[*deadline]bool, len(cs))
	for _, c := range cs {
		ours[c] = true
	}
	deadlineTimers.mu.Lock()
	defer deadlineTimers.mu.Unlock()
	count := 0
	for e := deadlineTimers.slots[n]; e != nil; e = e.next {
		if ours[e.c] {
			count++
		}
	}
	return count
}

// TestDeadlinesShareTimers checks that the deadlines waited on in one tick
// share its slot, and that a deadline cancelled leaves it.
func TestDeadlinesShareTimers(t *testing.T) {
	const steps = 100
	cs := make([]*deadline, steps)
	slots := make(map[int64]int)
	for i := range cs {
		// A length no other test uses, far enough that no slot fires.
		cs[i] = startDeadline(context.Background(), 1234*time.Hour)
		_ = cs[i].Done()
		cs[i].mu.Lock()
		slots[cs[i].mu.wait.slot]++
		cs[i].mu.Unlock()
	}
	if len(slots) > 2 {
		t.Fatalf("%d deadlines started together are in %d slots; want 1 or 2", steps, len(slots))
	}
	for n, want := range slots {
		if got := inSlot(n, cs); got != want {
			t.Errorf("slot %d lists %d of the deadlines; want %d", n, got, want)
		}
	}
	for i, c := range cs {
		c.cancel()
		if !closedWithin(c.Done(), 0) || !errors.Is(c.Err(), context.Canceled) {
			t.Fatalf("deadline %d after cancel: Err %v; want Done closed and Canceled", i, c.Err())
		}
		if i == steps/2 {
			left := 0
			for n := range slots {
				left += inSlot(n, cs)
			}
			if left != steps-i-1 {
				t.Errorf("%d deadlines running are listed %d times", steps-i-1, left)
			}
		}
	}
	for n := range slots {
		if got := inSlot(n, cs); got != 0 {
			t.Errorf("slot %d still lists %d cancelled deadlines", n, got)
		}
	}
}

// TestDeadlineWheelExpires starts short deadlines from several goroutines,
// waits on each and cancels some at random: each Done is closed, never
// before its deadline unless cancelled, and Err says which came first.
func TestDeadlineWheelExpires(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 100 {
				c := startDeadline(context.Background(), time.Duration(1+rng.IntN(30))*time.Millisecond)
				at, _ := c.Deadline()
				done := c.Done()
				if rng.IntN(2) == 0 {
					time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
					c.cancel()
				}
				if !closedWithin(done, 5*time.Second) {
					t.Error("Done not closed 5 s after a deadline of at most 30 ms")
					return
				}
				switch err := c.Err(); {
				case errors.Is(err, context.Canceled):
				case errors.Is(err, context.DeadlineExceeded):
					if early := time.Until(at); early > 0 {
						t.Errorf("Done closed %v before the deadline", early)
					}
				default:
					t.Errorf("Err() = %v once Done is closed", err)
				}
			}
		})
	}
	wg.Wait()
}
