package main

import (
	"runtime"
	"testing"
)

// TestProfileRates: --mutex-profile-fraction and --block-profile-rate
// reach the runtime, and zero turns profiling off again.
func TestProfileRates(t *testing.T) {
	var o options
	fs := commandFlags("serve", commandRoles["serve"], &o)
	if err := fs.Parse([]string{"--mutex-profile-fraction", "7", "--block-profile-rate", "10000"}); err != nil {
		t.Fatal(err)
	}
	if o.profile != (profileRates{mutexFraction: 7, blockRate: 10000}) {
		t.Fatalf("parsed %+v; want fraction 7, rate 10000", o.profile)
	}
	o.profile.apply()
	defer profileRates{}.apply()
	if got := runtime.SetMutexProfileFraction(-1); got != 7 {
		t.Errorf("mutex profile fraction = %d; want 7", got)
	}
	profileRates{}.apply()
	if got := runtime.SetMutexProfileFraction(-1); got != 0 {
		t.Errorf("mutex profile fraction after zero = %d; want 0", got)
	}
}
