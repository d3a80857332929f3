package loadgen

import (
	"errors"
	"fmt"
	"image/color"
	"path/filepath"

	"github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Colors of the chart lines.
var (
	colorServer    = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	colorGenerator = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	colorMachine   = color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff}
)

// series is one line of a chart.
type series struct {
	name  string
	color color.Color
	xys   plotter.XYs
}

// writeCharts draws latency.<format> (the CDF of lat, if it has samples),
// throughput, cpu and rss into dir; format is svg or png.
func writeCharts(dir, format string, res *Result, points []Point, lat *hdrhistogram.Histogram, latTitle string) error {
	file := func(name string) string { return filepath.Join(dir, name+"."+format) }
	title := fmt.Sprintf("%s, %s", res.Scenario, res.Target)
	var err error
	if lat != nil && lat.TotalCount() > 0 {
		err = errors.Join(err, drawLatencyCDF(file("latency"), title+": "+latTitle, lat))
	}
	if len(points) == 0 {
		return err
	}
	pick := func(f func(Point) float64) plotter.XYs {
		xys := make(plotter.XYs, len(points))
		for i, p := range points {
			xys[i] = plotter.XY{X: p.T, Y: f(p)}
		}
		return xys
	}
	throughput := []series{{"deliveries/s", colorGenerator, pick(func(p Point) float64 { return p.MsgsPerSec })}}
	if res.Delivery == nil {
		throughput = []series{{"accepted comments/s", colorGenerator, pick(func(p Point) float64 { return p.AcceptedPS })}}
	}
	err = errors.Join(err,
		drawLines(file("throughput"), title+": throughput", "per second", throughput),
		drawLines(file("cpu"), title+": CPU", "% of one core", []series{
			{"server", colorServer, pick(func(p Point) float64 { return p.ServerCPU })},
			{"generator", colorGenerator, pick(func(p Point) float64 { return p.GenCPU })},
			{"machine", colorMachine, pick(func(p Point) float64 { return p.MachineBusy })},
		}),
		drawLines(file("rss"), title+": resident memory", "MiB", []series{
			{"server", colorServer, pick(func(p Point) float64 { return float64(p.ServerRSS) / (1 << 20) })},
			{"generator", colorGenerator, pick(func(p Point) float64 { return float64(p.GenRSS) / (1 << 20) })},
		}),
	)
	return err
}

// drawLatencyCDF plots the share of samples at or below each latency, on
// a logarithmic latency axis.
func drawLatencyCDF(path, title string, h *hdrhistogram.Histogram) error {
	xys := plotter.XYs{{X: float64(max(h.Min(), 1)) / 1000, Y: 0}}
	var below int64
	for _, bar := range h.Distribution() {
		if bar.Count == 0 {
			continue
		}
		below += bar.Count
		xys = append(xys, plotter.XY{X: float64(max(bar.To, 1)) / 1000, Y: 100 * float64(below) / float64(h.TotalCount())})
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "latency (ms, log scale)"
	p.Y.Label.Text = "% of messages at or below"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Min, p.Y.Max = 0, 100
	p.Add(plotter.NewGrid())
	line, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	line.Color = colorServer
	p.Add(line)
	return p.Save(8*vg.Inch, 5*vg.Inch, path)
}

func drawLines(path, title, yLabel string, lines []series) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "seconds since start"
	p.Y.Label.Text = yLabel
	p.Y.Min = 0
	p.Add(plotter.NewGrid())
	for _, s := range lines {
		line, err := plotter.NewLine(s.xys)
		if err != nil {
			return err
		}
		line.Color = s.color
		p.Add(line)
		p.Legend.Add(s.name, line)
	}
	p.Legend.Top, p.Legend.Left = true, true
	return p.Save(8*vg.Inch, 4*vg.Inch, path)
}
