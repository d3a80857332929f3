package soak

import "testing"

func TestCheckGrowth(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
		judged bool
		ok     bool
		first  float64
		last   float64
	}{
		{"flat", []float64{100, 100, 100, 100, 100, 100}, true, true, 100, 100},
		{"within", []float64{100, 102, 101, 110, 115, 118}, true, true, 101, 116.5},
		{"steady climb", []float64{100, 110, 120, 130, 140, 150, 160, 170, 180}, true, false, 110, 170},
		{"one spike", []float64{100, 400, 100, 100, 100, 100, 100, 100, 100}, true, true, 100, 100},
		{"late spike only", []float64{100, 100, 100, 100, 100, 100, 100, 100, 900}, true, true, 100, 100},
		{"too few", []float64{100, 500}, false, true, 0, 0},
		{"none", nil, false, true, 0, 0},
	}
	for _, tt := range tests {
		g := checkGrowth(tt.values, 0.2, 10)
		if g.Judged != tt.judged || g.OK != tt.ok || g.First != tt.first || g.Last != tt.last {
			t.Errorf("%s: checkGrowth(%v) = %+v; want judged %v, ok %v, first %v, last %v",
				tt.name, tt.values, g, tt.judged, tt.ok, tt.first, tt.last)
		}
		if tt.judged && g.Limit != tt.first*1.2+10 {
			t.Errorf("%s: limit %v; want %v", tt.name, g.Limit, tt.first*1.2+10)
		}
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1}, 2},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v; want %v", tt.in, got, tt.want)
		}
	}
}

func TestRedisLimit(t *testing.T) {
	b := Bounds{RedisFactor: 1.5, RedisSlack: 1 << 20}
	// 4 rooms of 400 entries of 200 + 70 bytes plus 4 700 bytes each.
	perRoom := 4700.0 + 400*270
	want := int64(1000) + int64(1.5*4*perRoom) + 1<<20
	if got := redisLimit(1000, 4, 300, 100, 200, b); got != want {
		t.Errorf("redisLimit = %d; want %d", got, want)
	}
}
