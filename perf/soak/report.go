package soak

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// write saves report.txt, result.json, samples.csv and soak.png.
func (r *run) write() error {
	var text bytes.Buffer
	if err := r.res.WriteReport(&text); err != nil {
		return err
	}
	data, err := json.MarshalIndent(r.res, "", "  ")
	if err != nil {
		return err
	}
	var csv bytes.Buffer
	r.res.writeCSV(&csv)
	dir := r.cfg.OutDir
	return errors.Join(
		os.WriteFile(filepath.Join(dir, "report.txt"), text.Bytes(), 0o644),
		os.WriteFile(filepath.Join(dir, "result.json"), append(data, '\n'), 0o644),
		os.WriteFile(filepath.Join(dir, "samples.csv"), csv.Bytes(), 0o644),
		r.res.drawChart(filepath.Join(dir, "soak.png")),
	)
}

// WriteReport writes the readable report: the verdict, what was sent and
// received, and each bound with its measured value.
func (res *Result) WriteReport(w io.Writer) error {
	var b strings.Builder
	cfg := res.Config
	verdict := "PASS"
	if len(res.Failures) > 0 {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "danmu soak: %s\n\n", verdict)
	for _, f := range res.Failures {
		fmt.Fprintf(&b, "  FAIL: %s\n", f)
	}
	if len(res.Failures) > 0 {
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "started   %s, %.0f s of samples; %s, %d CPUs, %s\n", res.Started.UTC().Format("2006-01-02 15:04:05 UTC"), res.Seconds, runtime.Version(), runtime.NumCPU(), kernel())
	if len(res.Command) > 0 {
		fmt.Fprintf(&b, "command   %s\n", strings.Join(res.Command, " "))
	}
	fmt.Fprintf(&b, "load      %d rooms x %.0f comments/s for %v; %d viewers (%d per edge on %d edges); sampled every %v, warmup %v\n",
		len(res.Rooms), cfg.Rate, cfg.Duration, res.Viewers, cfg.ViewersPerEdge, len(cfg.EdgeAddrs), cfg.Interval, cfg.Warmup)
	p := res.Publish
	fmt.Fprintf(&b, "publish   scheduled %d, sent %d, accepted (201) %d, uncertain (5xx, no answer) %d, rejected %d; latest send %.1f ms after due\n",
		p.Scheduled, p.Sent, p.Accepted, p.Uncertain, p.Rejected, p.MaxLateMs)
	d := res.Delivery
	fmt.Fprintf(&b, "deliver   expected %d, delivered %d, lost %d (at %d viewers), duplicates %d, gaps %d, dropped %d, disconnected %d\n",
		d.Expected, d.Delivered, d.Lost, d.LossViewers, d.Duplicates, d.Gaps, d.Dropped, d.Disconnected)
	for _, e := range append(slicesClone(d.LostExamples), d.Disconnects...) {
		fmt.Fprintf(&b, "          %s\n", e)
	}
	fmt.Fprintf(&b, "latency   end to end p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms, max %.1f ms\n\n", res.Latency[0], res.Latency[1], res.Latency[2], res.Latency[3])

	bd := cfg.Bounds
	fmt.Fprintf(&b, "growth (after the warmup; median of the last third <= first third's x %.2f + %.0f MiB RSS, x %.2f + %d goroutines)\n",
		1+bd.RSSRelative, mib(bd.RSSAbsolute), 1+bd.GoroutinesRelative, bd.GoroutinesAbsolute)
	fmt.Fprintf(&b, "  %-8s %7s | %-35s | %-27s |\n", "", "", "RSS (MiB)", "goroutines")
	fmt.Fprintf(&b, "  %-8s %7s | %8s %8s %8s %8s | %6s %6s %6s %6s | %-7s | %s\n", "process", "samples", "first", "last", "bound", "max", "first", "last", "bound", "max", "verdict", "CPU s")
	for i, proc := range cfg.Procs {
		if i >= len(res.RSS) {
			break
		}
		r, g := res.RSS[i], res.Goroutines[i]
		fmt.Fprintf(&b, "  %-8s %7d | %8.1f %8.1f %8.1f %8.1f | %6.0f %6.0f %6.0f %6.0f | %-7s | %.1f\n", proc.Name, r.Samples,
			mib(int64(r.First)), mib(int64(r.Last)), mib(int64(r.Limit)), mib(int64(r.Max)),
			g.First, g.Last, g.Limit, g.Max, okWord(r.OK && g.OK), cpuUsed(res.Samples, i))
	}
	rs := res.Redis
	fmt.Fprintf(&b, "\nredis     used_memory max %.2f MiB (before the first comment %.2f MiB), bound %.2f MiB: %s\n",
		mib(rs.MaxUsed), mib(rs.BaseUsed), mib(rs.Limit), okWord(rs.MaxUsed <= rs.Limit))
	fmt.Fprintf(&b, "          bound = before + %.1f x %d rooms x (%d B + (retention %d + node %d) x (%d stored B + %d B)) + %.0f MiB\n",
		bd.RedisFactor, len(res.Rooms), streamBytes, cfg.Retention, cfg.NodeEntries, rs.StoredBytes, entryOverhead, mib(bd.RedisSlack))
	fmt.Fprintf(&b, "          longest stream %d entries, bound %d: %s; redis-server RSS max %.1f MiB\n",
		rs.StreamMax, rs.StreamLimit, okWord(rs.StreamMax <= rs.StreamLimit), mib(rs.MaxRSS))
	if n := len(res.Samples); n > 0 {
		self := res.Samples[n-1].Self
		fmt.Fprintf(&b, "soak      itself: RSS %.1f MiB, %d goroutines at the end\n", mib(self.RSS), self.Goroutines)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func okWord(ok bool) string {
	if ok {
		return "ok"
	}
	return "OVER"
}

func slicesClone(s []string) []string { return append([]string(nil), s...) }

// cpuUsed returns the CPU seconds process i used between the first and
// the last complete sample.
func cpuUsed(samples []Sample, i int) float64 {
	var first, last float64
	seen := false
	for _, s := range samples {
		if s.Procs[i].Err != "" {
			continue
		}
		if !seen {
			first, seen = s.Procs[i].CPU, true
		}
		last = s.Procs[i].CPU
	}
	return last - first
}

// kernel returns the running kernel's release.
func kernel() string {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "kernel unknown"
	}
	return "kernel " + strings.TrimSpace(string(b))
}

// writeCSV writes one line per sample.
func (res *Result) writeCSV(w *bytes.Buffer) {
	w.WriteString("t_s,accepted,delivered,connected,p99_ms,max_ms")
	for _, p := range res.Config.Procs {
		fmt.Fprintf(w, ",%s_rss_bytes,%s_goroutines,%s_threads,%s_cpu_s", p.Name, p.Name, p.Name, p.Name)
	}
	w.WriteString(",redis_used_memory,redis_rss,redis_stream_max,soak_rss\n")
	for _, s := range res.Samples {
		fmt.Fprintf(w, "%.1f,%d,%d,%d,%.1f,%.1f", s.T, s.Accepted, s.Delivered, s.Connected, float64(s.P99)/1000, float64(s.Max)/1000)
		for _, p := range s.Procs {
			fmt.Fprintf(w, ",%d,%d,%d,%.2f", p.RSS, p.Goroutines, p.Threads, p.CPU)
		}
		w.WriteString("," + strconv.FormatInt(s.Redis.UsedMemory, 10) + "," + strconv.FormatInt(s.Redis.RSS, 10) +
			"," + strconv.FormatInt(s.Redis.StreamMax, 10) + "," + strconv.FormatInt(s.Self.RSS, 10) + "\n")
	}
}

// palette colors the processes' lines.
var palette = []color.Color{
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
}

var gray = color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff}

// line is one line of a panel.
type line struct {
	name  string
	color color.Color
	dash  bool
	y     func(Sample) float64
	// has, when set, leaves out the samples it is false for.
	has func(Sample) bool
}

// drawChart draws four panels over time: RSS and goroutines of every
// process, Redis memory against its bound, and end-to-end p99 latency.
func (res *Result) drawChart(path string) error {
	var rssLines, goroutineLines []line
	for i, p := range res.Config.Procs {
		c := palette[i%len(palette)]
		rssLines = append(rssLines, line{name: p.Name, color: c, y: func(s Sample) float64 { return mib(s.Procs[i].RSS) }})
		goroutineLines = append(goroutineLines, line{name: p.Name, color: c, y: func(s Sample) float64 { return float64(s.Procs[i].Goroutines) }})
	}
	rssLines = append(rssLines, line{name: "redis-server", color: gray, dash: true, y: func(s Sample) float64 { return mib(s.Redis.RSS) }})
	delivered := func(s Sample) bool { return s.Max > 0 }
	limit := mib(res.Redis.Limit)
	panels := []*plot.Plot{
		res.panel("resident memory (MiB)", false, rssLines),
		res.panel("goroutines", false, goroutineLines),
		res.panel("Redis used_memory (MiB)", false, []line{
			{name: "used_memory", color: palette[0], y: func(s Sample) float64 { return mib(s.Redis.UsedMemory) }},
			{name: "bound", color: gray, dash: true, y: func(Sample) float64 { return limit }},
		}),
		res.panel("end-to-end latency per interval (ms)", true, []line{
			{name: "p99", color: palette[1], has: delivered, y: func(s Sample) float64 { return float64(s.P99) / 1000 }},
			{name: "max", color: gray, dash: true, has: delivered, y: func(s Sample) float64 { return float64(s.Max) / 1000 }},
		}),
	}
	for _, p := range panels {
		if p == nil {
			return errors.New("soak: chart: no samples")
		}
	}
	panels[0].Title.Text = fmt.Sprintf("danmu soak, %s (%s)", res.Started.UTC().Format("2006-01-02 15:04 UTC"), verdictWord(res))
	const rows = 4
	width, height := 9*vg.Inch, 12*vg.Inch
	img := vgimg.New(width, height)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: rows, Cols: 1, PadTop: vg.Points(4), PadBottom: vg.Points(4), PadX: vg.Points(4), PadY: vg.Points(10)}
	grid := make([][]*plot.Plot, rows)
	for i := range grid {
		grid[i] = []*plot.Plot{panels[i]}
	}
	canvases := plot.Align(grid, tiles, dc)
	for i := range grid {
		grid[i][0].Draw(canvases[i][0])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = vgimg.PngCanvas{Canvas: img}.WriteTo(f)
	return errors.Join(err, f.Close())
}

func verdictWord(res *Result) string {
	if len(res.Failures) > 0 {
		return "FAIL"
	}
	return "PASS"
}

// panel plots lines over the samples' time, with the legend in the top or
// the bottom left corner; nil without samples.
func (res *Result) panel(yLabel string, legendTop bool, lines []line) *plot.Plot {
	if len(res.Samples) == 0 {
		return nil
	}
	p := plot.New()
	p.X.Label.Text = "seconds since the first comment"
	p.Y.Label.Text = yLabel
	p.X.Min, p.X.Max = 0, res.Samples[len(res.Samples)-1].T
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	for _, l := range lines {
		xys := make(plotter.XYs, 0, len(res.Samples))
		for _, s := range res.Samples {
			if l.has == nil || l.has(s) {
				xys = append(xys, plotter.XY{X: s.T, Y: l.y(s)})
			}
		}
		if len(xys) == 0 {
			continue
		}
		pl, err := plotter.NewLine(xys)
		if err != nil {
			continue
		}
		pl.Color = l.color
		if l.dash {
			pl.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		p.Add(pl)
		p.Legend.Add(l.name, pl)
	}
	p.Legend.Top, p.Legend.Left = legendTop, true
	return p
}
