package ingest

import (
	"context"
	"sync"
	"time"
)

// startDeadline returns what context.WithTimeout(parent, d) would, for the
// steps of one post (the hooks, the append), without a timer of its own:
// a step that something waits on (Done) shares one with the steps whose
// deadlines fall in the same deadlineTick (deadlineTimers). It takes
// parent's values (the post's trace span), not its cancellation: a post's
// parent is never cancelled before its steps end. The built-in hooks and
// the embedded stream only check Err, and the timer of
// context.WithTimeout (allocated, added to the runtime's timer heap and
// taken out again, three times per post) was a third of the server's CPU
// with batches of 100 comments (see "Ingest CPU" in docs/performance.md).
// Call cancel once the step is done, as with context.WithTimeout; a
// method, not a returned func, saves an allocation.
func startDeadline(parent context.Context, d time.Duration) *deadline {
	c := new(deadline)
	c.start(parent, time.Now().Add(d))
	return c
}

// start starts c, a zero deadline, as startDeadline would with the
// deadline at: for a deadline that is a field of a larger struct, which
// saves its allocation (post). A deadline is started once, never reused:
// whoever was handed it may keep it, and its Err must stay non-nil once
// it is.
func (c *deadline) start(parent context.Context, at time.Time) {
	c.parent, c.at = parent, at
}

// deadline is the context.Context of startDeadline.
type deadline struct {
	// Immutable once started.
	parent context.Context
	at     time.Time

	mu struct {
		sync.Mutex
		done chan struct{} // made by the first Done
		wait *wheelEntry   // in deadlineTimers from the first Done before the deadline on
		err  error         // set once: DeadlineExceeded or Canceled
	}
}

func (c *deadline) Deadline() (time.Time, bool) { return c.at, true }

func (c *deadline) Value(key any) any { return c.parent.Value(key) }

// Done returns a channel closed on cancel or at the deadline, at most
// deadlineTick after it; the first call puts c in deadlineTimers.
func (c *deadline) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.done == nil {
		c.mu.done = make(chan struct{})
		wait := time.Until(c.at)
		switch {
		case c.mu.err != nil:
			close(c.mu.done)
		case wait <= 0:
			c.endLocked(context.DeadlineExceeded)
		default:
			c.mu.wait = deadlineTimers.add(c)
		}
	}
	return c.mu.done
}

// Err returns DeadlineExceeded once the deadline passed, Canceled after
// cancel, and nil before either; Done is closed as soon as it is non-nil.
func (c *deadline) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.err == nil && time.Until(c.at) <= 0 { // the monotonic clock alone
		c.endLocked(context.DeadlineExceeded)
	}
	return c.mu.err
}

// cancel ends the step: Done is closed, Err is Canceled unless the
// deadline passed first, and c leaves deadlineTimers.
func (c *deadline) cancel() {
	c.mu.Lock()
	c.endLocked(context.Canceled)
	c.mu.Unlock()
}

// expire ends c at its deadline, for deadlineTimers.
func (c *deadline) expire() {
	c.mu.Lock()
	c.endLocked(context.DeadlineExceeded)
	c.mu.Unlock()
}

func (c *deadline) endLocked(err error) {
	if c.mu.err != nil {
		return
	}
	c.mu.err = err
	if c.mu.wait != nil {
		deadlineTimers.remove(c.mu.wait)
		c.mu.wait = nil
	}
	if c.mu.done != nil {
		close(c.mu.done)
	}
}
