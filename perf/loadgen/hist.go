package loadgen

import (
	"fmt"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Histograms record microseconds from 1 µs to 10 minutes with three
// significant digits.
const (
	histLowest  = 1
	histHighest = 600_000_000
	histDigits  = 3
)

func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowest, histHighest, histDigits)
}

// recordMicros records d nanoseconds, clamped into the histogram's range.
func recordMicros(h *hdrhistogram.Histogram, nanos int64) {
	_ = h.RecordValue(min(max(nanos/1000, histLowest), histHighest))
}

// encodeHist returns h in the compressed, base64 HdrHistogram V2 form.
func encodeHist(h *hdrhistogram.Histogram) (string, error) {
	b, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	return string(b), err
}

// mergeEncoded decodes s (from encodeHist) into into. An empty s adds
// nothing.
func mergeEncoded(into *hdrhistogram.Histogram, s string) error {
	if s == "" {
		return nil
	}
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return fmt.Errorf("loadgen: decode histogram: %w", err)
	}
	if dropped := into.Merge(h); dropped > 0 {
		return fmt.Errorf("loadgen: merge histogram: %d values out of range", dropped)
	}
	return nil
}

// Quantiles summarizes a latency histogram in milliseconds.
type Quantiles struct {
	Count int64   `json:"count"`
	P50   float64 `json:"p50_ms"`
	P90   float64 `json:"p90_ms"`
	P99   float64 `json:"p99_ms"`
	P999  float64 `json:"p999_ms"`
	Max   float64 `json:"max_ms"`
	Mean  float64 `json:"mean_ms"`
}

func quantiles(h *hdrhistogram.Histogram) Quantiles {
	if h.TotalCount() == 0 {
		return Quantiles{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return Quantiles{
		Count: h.TotalCount(),
		P50:   ms(h.ValueAtQuantile(50)),
		P90:   ms(h.ValueAtQuantile(90)),
		P99:   ms(h.ValueAtQuantile(99)),
		P999:  ms(h.ValueAtQuantile(99.9)),
		Max:   ms(h.Max()),
		Mean:  h.Mean() / 1000,
	}
}
