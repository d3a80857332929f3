package rdb

import (
	"context"
	"errors"
	"testing"
)

func TestUnavailable(t *testing.T) {
	err := Unavailable("append to \"r\"", context.Canceled)
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("Unavailable(op, context.Canceled) = %v; want both ErrUnavailable and context.Canceled", err)
	}
	if want := `rdb: unavailable: append to "r": context canceled`; err.Error() != want {
		t.Errorf("Unavailable(...).Error() = %q; want %q", err.Error(), want)
	}
}
