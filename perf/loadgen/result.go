package loadgen

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Result is everything one run measured. It is written as one JSON line
// (JSONOut) and, with the per-second series, to OutDir/result.json.
type Result struct {
	Scenario string    `json:"scenario"`
	Target   string    `json:"target"`
	Started  time.Time `json:"started"`
	Command  []string  `json:"command,omitempty"`
	Host     Host      `json:"host"`
	Params   Params    `json:"params"`
	OutDir   string    `json:"out_dir"`
	// WindowSeconds is the measured window: publishing plus the drain, the
	// hold of idle, or the storm.
	WindowSeconds float64 `json:"window_s"`

	Viewers   *ViewerStats   `json:"viewers,omitempty"`
	Publish   *PublishStats  `json:"publish,omitempty"`
	Delivery  *DeliveryStats `json:"delivery,omitempty"`
	Latency   *Quantiles     `json:"latency,omitempty"` // end to end, sampled viewers
	Idle      *IdleStats     `json:"idle,omitempty"`
	Storm     *StormStats    `json:"storm,omitempty"`
	Server    ProcStats      `json:"server"`
	Generator ProcStats      `json:"generator"`
	// GeneratorSplit divides the generator's CPU time between its
	// processes: the coordinator, which publishes, and the viewers'
	// worker processes.
	GeneratorSplit *GeneratorSplit `json:"generator_split,omitempty"`
	// MachineBusy is the whole machine's CPU use over the window, in
	// percent of one core (200 = both cores of this machine busy).
	MachineBusy float64 `json:"machine_busy_pct"`
	// Error says what failed after the measurement, such as a server
	// that exited with an error when stopped.
	Error string `json:"error,omitempty"`
}

// Host describes the machine.
type Host struct {
	CPUs      int     `json:"cpus"`
	MemGiB    float64 `json:"mem_gib"`
	Kernel    string  `json:"kernel"`
	GoVersion string  `json:"go"`
	Commit    string  `json:"commit,omitempty"`
}

// Params are the run's effective parameters.
type Params struct {
	Viewers        int      `json:"viewers,omitempty"`
	Rooms          int      `json:"rooms,omitempty"`
	RatePerRoom    float64  `json:"rate_per_room,omitempty"`
	Duration       float64  `json:"duration_s"`
	Lanes          int      `json:"lanes,omitempty"`
	Batch          int      `json:"batch,omitempty"` // comments per request, above 1
	Workers        int      `json:"workers,omitempty"`
	SourceIPs      int      `json:"source_ips,omitempty"`
	SamplePerRoom  int      `json:"sample_per_room,omitempty"`
	ServerArgs     []string `json:"server_args,omitempty"`
	Spawned        bool     `json:"spawned"`
	WSAddr         string   `json:"ws_addr"`
	HTTPAddr       string   `json:"http_addr"`
	DialConcurrent int      `json:"dial_concurrency,omitempty"`
}

// ViewerStats counts connections.
type ViewerStats struct {
	Joined      int64   `json:"joined"`
	Failed      int64   `json:"failed"`
	Disconnects int64   `json:"disconnects"` // ended by the server or network during the run
	Reconnects  int64   `json:"reconnects"`
	Malformed   int64   `json:"malformed"` // protocol violations and undecodable frames
	ConnectSecs float64 `json:"connect_s"` // first dial to last join
}

// PublishStats describes the comments sent.
type PublishStats struct {
	Scheduled  int64            `json:"scheduled,omitempty"` // paced runs
	Sent       int64            `json:"sent"`
	Accepted   int64            `json:"accepted"`
	Rejected   int64            `json:"rejected"`  // 4xx: not stored
	Uncertain  int64            `json:"uncertain"` // 5xx and transport errors: maybe stored
	Unsent     int64            `json:"unsent"`    // paced comments not sent before the give-up time
	Outcomes   map[string]int64 `json:"errors,omitempty"`
	PerSec     float64          `json:"accepted_per_s"`
	MaxBacklog int64            `json:"max_backlog"` // comments due but not yet sent
	// Post is the answer time minus the due time (paced) or the send time
	// (closed loop); Service the answer time minus the send time;
	// Lateness the send time minus the due time.
	Post     Quantiles `json:"post_latency"`
	Service  Quantiles `json:"service_latency"`
	Lateness Quantiles `json:"lateness"`
}

// DeliveryStats describes what viewers received.
type DeliveryStats struct {
	Expected  int64   `json:"expected"`  // Σ over joined viewers of their room's accepted comments
	Delivered int64   `json:"delivered"` // messages counted by all viewers
	PerSec    float64 `json:"per_s"`     // Delivered / window
	Frames    int64   `json:"frames"`
	PerFrame  float64 `json:"msgs_per_frame"`
	Dropped   int64   `json:"server_dropped"` // sum of the frames' "dropped"
	// Missing sums, over joined viewers, the accepted comments of the
	// room minus the viewer's count, where positive; ViewersWithLoss
	// counts viewers with a positive difference.
	Missing         int64 `json:"missing"`
	ViewersWithLoss int64 `json:"viewers_with_loss"`
	MaxMissing      int64 `json:"max_missing_per_viewer"`
	// Excess sums counts above accepted plus maybe-stored comments.
	Excess int64 `json:"excess"`
	// Thinned sums the messages counted by the viewers that asked for a
	// max_rate (Config.MaxRates), which Expected and Missing leave out.
	Thinned int64       `json:"thinned,omitempty"`
	Sampled SampleStats `json:"sampled"`
}

// SampleStats is what sampled viewers found by sequence number.
type SampleStats struct {
	Viewers    int   `json:"viewers"`
	Expected   int64 `json:"expected"`
	Lost       int64 `json:"lost"`
	Dups       int64 `json:"dups"`
	Unexpected int64 `json:"unexpected"` // neither accepted nor maybe stored
	Misrouted  int64 `json:"misrouted"`  // comments of another room
	Foreign    int64 `json:"foreign"`    // texts the generator did not write
}

// IdleStats is the idle scenario's memory measure.
type IdleStats struct {
	RSSBefore          int64   `json:"rss_before"`
	RSSAfter           int64   `json:"rss_after"`
	BytesPerViewer     float64 `json:"bytes_per_viewer"` // (after - before) / joined
	GeneratorPerViewer float64 `json:"generator_bytes_per_viewer"`
}

// StormStats is the connect-storm scenario's measure.
type StormStats struct {
	Handshakes      int64     `json:"handshakes"`
	Seconds         float64   `json:"seconds"`
	PerSec          float64   `json:"per_s"`
	Handshake       Quantiles `json:"handshake_latency"` // dial to joined
	ReconnectMethod string    `json:"reconnect_method"`  // server restart or client drop
	Reconnected     int64     `json:"reconnected"`
	ReconnectSecs   float64   `json:"reconnect_s"`
	ReconnectPerSec float64   `json:"reconnect_per_s"`
}

// ProcStats is the CPU and memory of a set of processes over the window.
type ProcStats struct {
	PIDs       []int   `json:"pids,omitempty"`
	CPUSeconds float64 `json:"cpu_s"`
	CPUPercent float64 `json:"cpu_pct"` // of one core
	RSSMax     int64   `json:"rss_max"`
	ThreadsMax int64   `json:"threads_max,omitempty"`
	// CPUMsPer1000 is CPU milliseconds per 1 000 deliveries (or accepted
	// comments, for ingest without viewers).
	CPUMsPer1000 float64 `json:"cpu_ms_per_1000,omitempty"`
}

// GeneratorSplit is the generator's CPU by role, over the window.
type GeneratorSplit struct {
	// PublisherCPUSeconds is the coordinator process's: the publishers,
	// the sampling and the reports.
	PublisherCPUSeconds float64 `json:"publisher_cpu_s"`
	// ViewersCPUSeconds is the worker processes': the viewers.
	ViewersCPUSeconds float64 `json:"viewers_cpu_s"`
	// ViewersCPUMsPer1000 is the workers' CPU milliseconds per 1 000
	// deliveries.
	ViewersCPUMsPer1000 float64 `json:"viewers_cpu_ms_per_1000,omitempty"`
}

// roomOfComment returns the room index comment i was posted to.
func roomOfComment(i int64, rooms int) int {
	return int(i % int64(rooms))
}

// perRoom counts the members of set in each of rooms rooms.
func perRoom(set Bitset, rooms int) []int64 {
	counts := make([]int64, rooms)
	set.Each(func(i int64) { counts[roomOfComment(i, rooms)]++ })
	return counts
}

// countLoss compares every viewer's count with its room's accepted
// comments. msgs holds one count per viewer, -1 for one that never joined.
func countLoss(l *layout, msgs []int64, accepted, uncertain []int64, d *DeliveryStats) {
	for i, got := range msgs {
		if got < 0 {
			continue
		}
		if l.maxRate(i) > 0 {
			// A thinned viewer gets fewer by design; what it was not
			// sent is in the frames' "dropped".
			d.Thinned += got
			continue
		}
		k := l.roomOf(i)
		d.Expected += accepted[k]
		if missing := accepted[k] - got; missing > 0 {
			d.Missing += missing
			d.ViewersWithLoss++
			d.MaxMissing = max(d.MaxMissing, missing)
		}
		if excess := got - accepted[k] - uncertain[k]; excess > 0 {
			d.Excess += excess
		}
	}
}

// sampleLoss checks one sampled viewer's received set against the
// accepted and maybe-stored comments of its room.
func sampleLoss(room, rooms int, received, accepted, uncertain Bitset, s *SampleStats) {
	s.Viewers++
	accepted.Each(func(i int64) {
		if roomOfComment(i, rooms) != room {
			return
		}
		s.Expected++
		if !received.Has(i) {
			s.Lost++
		}
	})
	received.Each(func(i int64) {
		switch {
		case roomOfComment(i, rooms) != room:
			s.Misrouted++
		case !accepted.Has(i) && !uncertain.Has(i):
			s.Unexpected++
		}
	})
}

// WriteTable writes the result for a person to read.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name, format string, args ...any) {
		fmt.Fprintf(tw, "  %s\t%s\n", name, fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(tw, "%s against %s (%s, %d CPUs, %s)\n", r.Scenario, r.Target, r.Started.Format(time.RFC3339), r.Host.CPUs, r.Host.Kernel)
	p := r.Params
	row("params", "viewers %d, rooms %d, rate %g/s per room, duration %gs, lanes %d, workers %d", p.Viewers, p.Rooms, p.RatePerRoom, p.Duration, p.Lanes, p.Workers)
	if p.Batch > 1 {
		row("batch", "%d comments per request (POST .../danmaku:batch)", p.Batch)
	}
	if len(p.ServerArgs) > 0 {
		row("server args", "%s", strings.Join(p.ServerArgs, " "))
	}
	row("window", "%.1fs", r.WindowSeconds)
	if v := r.Viewers; v != nil {
		row("viewers", "joined %d, failed %d, disconnects %d, reconnects %d, malformed %d, connected in %.2fs",
			v.Joined, v.Failed, v.Disconnects, v.Reconnects, v.Malformed, v.ConnectSecs)
	}
	if pb := r.Publish; pb != nil {
		sent := fmt.Sprintf("sent %d", pb.Sent)
		if pb.Scheduled > 0 {
			sent += fmt.Sprintf(" of %d", pb.Scheduled)
		}
		row("comments", "%s, accepted %d (%.1f/s), rejected %d, uncertain %d, unsent %d, max backlog %d",
			sent, pb.Accepted, pb.PerSec, pb.Rejected, pb.Uncertain, pb.Unsent, pb.MaxBacklog)
		if len(pb.Outcomes) > 0 {
			keys := make([]string, 0, len(pb.Outcomes))
			for k := range pb.Outcomes {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			var parts []string
			for _, k := range keys {
				parts = append(parts, fmt.Sprintf("%s: %d", k, pb.Outcomes[k]))
			}
			row("errors", "%s", strings.Join(parts, ", "))
		}
		row("post latency", "%s", pb.Post)
		row("post service", "%s", pb.Service)
		row("send lateness", "%s", pb.Lateness)
	}
	if d := r.Delivery; d != nil {
		row("deliveries", "%d of %d expected, %.0f/s, %d frames (%.1f msgs/frame), server dropped %d",
			d.Delivered, d.Expected, d.PerSec, d.Frames, d.PerFrame, d.Dropped)
		if d.Thinned > 0 {
			row("thinned", "%d of the deliveries to viewers with a max_rate (not in expected)", d.Thinned)
		}
		row("loss by count", "missing %d (%.4f%%) in %d viewers (max %d), excess %d",
			d.Missing, percent(d.Missing, d.Expected), d.ViewersWithLoss, d.MaxMissing, d.Excess)
		s := d.Sampled
		row("loss by id", "%d sampled viewers: lost %d of %d, dups %d, unexpected %d, misrouted %d, foreign %d",
			s.Viewers, s.Lost, s.Expected, s.Dups, s.Unexpected, s.Misrouted, s.Foreign)
	}
	if r.Latency != nil {
		row("end to end", "%s", *r.Latency)
	}
	if i := r.Idle; i != nil {
		row("server RSS", "%s before, %s after: %.0f B (%.2f KiB) per viewer; generator %.2f KiB per viewer",
			mib(i.RSSBefore), mib(i.RSSAfter), i.BytesPerViewer, i.BytesPerViewer/1024, i.GeneratorPerViewer/1024)
	}
	if s := r.Storm; s != nil {
		row("connect storm", "%d handshakes in %.2fs: %.0f/s; %s", s.Handshakes, s.Seconds, s.PerSec, s.Handshake)
		row("reconnect storm", "%s: %d reconnected in %.2fs: %.0f/s", s.ReconnectMethod, s.Reconnected, s.ReconnectSecs, s.ReconnectPerSec)
	}
	unit := "deliveries"
	if r.Delivery == nil {
		unit = "accepted comments"
	}
	procRow := func(name string, ps ProcStats) {
		per := ""
		if ps.CPUMsPer1000 > 0 {
			per = fmt.Sprintf(", %.3f CPU ms per 1000 %s", ps.CPUMsPer1000, unit)
		}
		row(name, "%.2f CPU s (%.0f%% of a core), RSS max %s%s", ps.CPUSeconds, ps.CPUPercent, mib(ps.RSSMax), per)
	}
	procRow("server", r.Server)
	procRow("generator", r.Generator)
	if g := r.GeneratorSplit; g != nil {
		per := ""
		if g.ViewersCPUMsPer1000 > 0 {
			per = fmt.Sprintf(" (%.3f CPU ms per 1000 %s)", g.ViewersCPUMsPer1000, unit)
		}
		row("  split", "publisher (coordinator) %.2f CPU s, viewers (workers) %.2f CPU s%s", g.PublisherCPUSeconds, g.ViewersCPUSeconds, per)
	}
	row("machine", "%.0f%% busy (of %d00%%)", r.MachineBusy, r.Host.CPUs)
	row("output", "%s", r.OutDir)
	if r.Error != "" {
		row("error", "%s", r.Error)
	}
	return tw.Flush()
}

func (q Quantiles) String() string {
	if q.Count == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (n=%d)",
		ms(q.P50), ms(q.P90), ms(q.P99), ms(q.P999), ms(q.Max), q.Count)
}

func ms(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2fs", v/1000)
	}
	return fmt.Sprintf("%.1fms", v)
}

func mib(b int64) string {
	return fmt.Sprintf("%.1fMiB", float64(b)/(1<<20))
}

func percent(part, whole int64) float64 {
	if whole == 0 {
		return 0
	}
	return 100 * float64(part) / float64(whole)
}

// Problems lists what went wrong in a run: comments not accepted or lost,
// viewers that failed, were disconnected or saw malformed frames. An empty
// list is a clean run.
func (r *Result) Problems() []string {
	var p []string
	add := func(n int64, what string) {
		if n > 0 {
			p = append(p, fmt.Sprintf("%d %s", n, what))
		}
	}
	if v := r.Viewers; v != nil {
		add(v.Failed, "viewers failed to join")
		add(v.Disconnects, "viewers disconnected")
		add(v.Malformed, "malformed frames")
	}
	if pb := r.Publish; pb != nil {
		add(pb.Rejected+pb.Uncertain, "comments not accepted")
		add(pb.Unsent, "comments never sent")
	}
	if d := r.Delivery; d != nil {
		add(d.Missing, "deliveries missing by count")
		add(d.Sampled.Lost, "comments lost by id")
		add(d.Sampled.Dups, "duplicates")
		add(d.Sampled.Unexpected+d.Sampled.Misrouted, "unexpected or misrouted comments")
	}
	return p
}
