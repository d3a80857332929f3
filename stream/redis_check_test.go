package stream

import (
	"testing"
	"time"

	"github.com/danmu-dev/danmu/codec"
)

// TestUndoneCheckIsDueAgain: a check recorded by dueLocked whose XINFO then
// failed is undone, so the next Read makes it rather than waiting out
// checkInterval; a reset it would have caught would otherwise go unnoticed
// once XREAD moved the cursor into the new stream.
func TestUndoneCheckIsDueAgain(t *testing.T) {
	var c roomChecks
	now := time.Now()
	cursors := []Cursor{{Room: "a", After: codec.ID{MS: 1}}, {Room: "b", After: codec.ID{MS: 1}}}
	c.mu.Lock()
	dueA, dueB := c.dueLocked("a", now), c.dueLocked("b", now)
	c.mu.Unlock()
	if !dueA || !dueB {
		t.Fatal("first checks not due")
	}
	c.undo(cursors, []int{0})
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dueLocked("a", now.Add(time.Millisecond)) {
		t.Error("an undone check is not due again")
	}
	if c.dueLocked("b", now.Add(time.Millisecond)) {
		t.Error("a check that was made is due again within checkInterval")
	}
}
