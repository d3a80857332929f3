package admin

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/danmu-dev/danmu/edge"
	"github.com/danmu-dev/danmu/fanout"
	"github.com/danmu-dev/danmu/ingest"
	"github.com/danmu-dev/danmu/metric"
	"github.com/danmu-dev/danmu/stream"
)

// namespace begins every danmu metric name.
const namespace = "danmu"

// collector exports counters read at scrape time: it describes its
// metrics once and builds constant metrics from the current values on
// every Collect, so the packages that count never see Prometheus.
type collector struct {
	descs   []*prometheus.Desc
	collect func(ch chan<- prometheus.Metric)
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }

// desc describes a metric of subsystem and adds it to c.
func (c *collector) desc(subsystem, name, help string, labels ...string) *prometheus.Desc {
	d := prometheus.NewDesc(prometheus.BuildFQName(namespace, subsystem, name), help, labels, nil)
	c.descs = append(c.descs, d)
	return d
}

func counter(d *prometheus.Desc, v uint64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

// histogram exports h, whose observations are multiplied by scale (1e-9
// turns nanoseconds into the seconds Prometheus expects).
func histogram(d *prometheus.Desc, h *metric.Histogram, scale float64, labels ...string) prometheus.Metric {
	s := h.Snapshot()
	buckets := make(map[float64]uint64, len(s.Counts))
	for i, bound := range h.Bounds() {
		buckets[float64(bound)*scale] = s.Counts[i]
	}
	return prometheus.MustNewConstHistogram(d, s.Count, float64(s.Sum)*scale, buckets, labels...)
}

// seconds is the scale of histograms kept in nanoseconds.
const seconds = 1 / float64(time.Second)

// EdgeCollector exports the counters of a WebSocket edge: its connections,
// what ended them, the frames written and skipped, the lag of its event
// loops and whether it is draining.
func EdgeCollector(s *edge.Server) prometheus.Collector {
	c := &collector{}
	const sub = "edge"
	accepted := c.desc(sub, "connections_accepted_total", "TCP connections accepted.")
	open := c.desc(sub, "connections_open", "Connections open now, handshakes included.")
	handshakes := c.desc(sub, "handshakes_total", "WebSocket upgrade requests by result: upgraded, or rejected with an HTTP error.", "result")
	closed := c.desc(sub, "connections_closed_total",
		"Connections ended, by reason (peer, drain, idle, slow, policy, protocol, handshake, dropped) and the close code sent (none without a close frame).",
		"reason", "code")
	refused := c.desc(sub, "connections_refused_total",
		"Connections refused (503) before their handshake, by reason (max_conns, max_conns_per_ip, draining, register, proxy_untrusted, proxy_missing, proxy_malformed); the PROXY protocol refusals are closed without an answer.", "reason")
	acceptErrors := c.desc(sub, "accept_errors_total", "Failed accepts (such as running out of file descriptors), after each of which the edge backs off and retries.")
	sent := c.desc(sub, "frames_sent_total", "Frames of batches and online counts written to viewers.")
	skipped := c.desc(sub, "frames_skipped_total", "Frames (batches and replies) skipped for clients whose backlog passed --soft-outbound-bytes.")
	slow := c.desc(sub, "slow_viewers_closed_total", "Viewers disconnected (1013) for falling too far behind.")
	limited := c.desc(sub, "rate_limited_total", "Client requests past --message-rate (the connection is closed, 1008) or --join-rate (the join is refused).")
	lag := c.desc(sub, "loop_lag_seconds", "How late each event loop ran its periodic sweep: how long work waits for a busy loop.")
	draining := c.desc(sub, "draining", "1 while the edge shuts down, closing its viewers over --drain-period.")
	byTransport := c.desc(sub, "connections_by_transport", "Connections open now past their handshake, by transport (ws, bili, sse).", "transport")
	sentByTransport := c.desc(sub, "frames_sent_by_transport_total", "Frames of batches and online counts written to viewers, by transport (ws, bili, sse).", "transport")
	subscriptions := c.desc(sub, "subscriptions", "Viewers' subscriptions now, by tier: full, priority (moved there for falling behind) or thinned (max_rate).", "tier")
	sentByTier := c.desc(sub, "frames_sent_by_tier_total", "Batch frames written to viewers, by tier (full, priority, thinned).", "tier")
	tierMoves := c.desc(sub, "tier_moves_total", "Subscriptions moved to the priority-only tier for falling behind (to_priority), and back to their own once drained (returned).", "direction")
	c.collect = func(ch chan<- prometheus.Metric) {
		st := s.Stats()
		for t := range edge.Transports {
			ch <- gauge(byTransport, float64(st.OpenConns(t)), t.String())
			ch <- counter(sentByTransport, st.FramesSentBy(t), t.String())
		}
		members, sentTier := st.Members(), st.FramesSentByTier()
		for i, name := range edge.TierClasses {
			ch <- gauge(subscriptions, float64(members[i]), name)
			ch <- counter(sentByTier, sentTier[i], name)
		}
		ch <- counter(tierMoves, st.TierMoves.Load(), "to_priority")
		ch <- counter(tierMoves, st.TierReturns.Load(), "returned")
		ch <- counter(accepted, st.Accepted.Load())
		ch <- gauge(open, float64(st.Open.Load()))
		for r := range edge.Refusals {
			ch <- counter(refused, st.Refused(r), r.String())
		}
		ch <- counter(acceptErrors, st.AcceptErrors.Load())
		ch <- counter(handshakes, st.Upgraded.Load(), "upgraded")
		ch <- counter(handshakes, st.Rejected.Load(), "rejected")
		for _, cl := range st.Closes() {
			ch <- counter(closed, cl.Count, cl.Reason.String(), closeCode(cl.Code))
		}
		ch <- counter(sent, st.FramesSent())
		ch <- counter(skipped, st.FramesSkipped.Load())
		ch <- counter(slow, st.SlowClosed.Load())
		ch <- counter(limited, st.RateLimited.Load())
		ch <- histogram(lag, st.LoopLag, seconds)
		ch <- gauge(draining, boolValue(s.Draining()))
	}
	return c
}

// closeCode is the label of a close code of edge.Close.
func closeCode(code int) string {
	switch code {
	case 0:
		return "none"
	case -1:
		return "other"
	}
	return strconv.Itoa(code)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// FanoutCollector exports what a hub delivered: rooms and viewers now,
// batches and their sizes, frames and messages delivered, messages
// dropped or skipped, latencies, and failed stream reads.
func FanoutCollector(h *fanout.Hub) prometheus.Collector {
	c := &collector{}
	const sub = "fanout"
	rooms := c.desc(sub, "rooms", "Rooms with viewers on this node.")
	followed := c.desc(sub, "rooms_followed", "Rooms whose streams this node reads: those with viewers, and those whose last viewer left less than --room-linger ago.")
	viewers := c.desc(sub, "viewers", "Viewers on this node, counted once per room they watch.")
	batches := c.desc(sub, "batches_total", "Batches flushed to viewers.")
	batchSize := c.desc(sub, "batch_messages", "Messages per batch.")
	dropped := c.desc(sub, "messages_dropped_total", "Messages left out of batches by --max-batch.")
	frames := c.desc(sub, "frames_delivered_total", "Batch frames written to viewers.")
	messages := c.desc(sub, "messages_delivered_total", "Messages written to viewers: a batch of 3 written to 10 viewers counts 30.")
	skipped := c.desc(sub, "entries_skipped_total", "Stream entries that were not a well-formed message.")
	duplicates := c.desc(sub, "duplicates_dropped_total", "Stored copies of a retried post that were dropped.")
	flushToWrite := c.desc(sub, "flush_to_write_seconds", "From a batch's flush to the end of writing it, per event loop.")
	endToEnd := c.desc(sub, "end_to_end_seconds", "From the stream storing a batch's newest message to the end of writing it, per event loop.")
	readErrors := c.desc("stream", "read_errors_total", "Stream reads that failed: following rooms, finding a room's newest entry, replaying.")
	replays := c.desc(sub, "replays_total",
		"Joins with since replayed, by source: memory (at once, from the room's recent entries), or queued (they waited for the room's replay reads, shared by viewers resuming from one position).", "source")
	replayReads := c.desc(sub, "replay_reads_total", "Stream reads made for the queued replays.")
	budget := c.desc(sub, "frame_budget", "Writes per second the active rooms share now: --frame-budget, less while the event loops fall behind it.")
	encoded := c.desc(sub, "frames_encoded_total", "Frames the encoders built for batches and online counts: one per wire format and tier in use per event, whatever the number of viewers.")
	c.collect = func(ch chan<- prometheus.Metric) {
		counts := h.Counts()
		total := 0
		for _, n := range counts {
			total += n
		}
		st := h.Stats()
		ch <- gauge(rooms, float64(len(counts)))
		ch <- gauge(followed, float64(len(h.Followed())))
		ch <- gauge(budget, float64(h.FrameBudget()))
		ch <- gauge(viewers, float64(total))
		ch <- counter(batches, st.Batches.Load())
		ch <- histogram(batchSize, st.BatchSize, 1)
		ch <- counter(dropped, st.Dropped.Load())
		ch <- counter(frames, st.FramesDelivered.Load())
		ch <- counter(messages, st.MessagesDelivered.Load())
		ch <- counter(skipped, h.Skipped())
		ch <- counter(duplicates, h.Duplicates())
		ch <- histogram(flushToWrite, st.FlushToWrite, seconds)
		ch <- histogram(endToEnd, st.EndToEnd, seconds)
		ch <- counter(readErrors, st.ReadErrors.Load())
		ch <- counter(replays, st.ReplaysFromMemory.Load(), "memory")
		ch <- counter(replays, st.ReplaysRequested.Load(), "queued")
		ch <- counter(replayReads, st.ReplayReads.Load())
		ch <- counter(encoded, st.Encoded.Load())
	}
	return c
}

// IngestCollector exports the answers of an HTTP API by status and error
// code, their latency by method, and failed appends to the stream.
func IngestCollector(s *ingest.Stats) prometheus.Collector {
	c := &collector{}
	const sub = "ingest"
	requests := c.desc(sub, "requests_total", "Requests answered, by HTTP status and error code (empty for a success).", "status", "code")
	duration := c.desc(sub, "request_duration_seconds", "Time to answer a request, by method.", "method")
	appendErrors := c.desc("stream", "append_errors_total", "Comments whose append to the stream failed or timed out (answered 503).")
	acceptErrors := c.desc(sub, "accept_errors_total", "Failed accepts (such as running out of file descriptors), after each of which the HTTP API backs off and retries.")
	proxyRefused := c.desc(sub, "proxy_refused_total", "Connections closed for their PROXY protocol header: from an address not in --proxy-protocol, missing, malformed or late.")
	c.collect = func(ch chan<- prometheus.Metric) {
		for key, n := range s.Requests() {
			ch <- counter(requests, n, strconv.Itoa(key.Status), key.Code)
		}
		for i, method := range ingest.Methods {
			ch <- histogram(duration, s.Duration[i], seconds, method)
		}
		ch <- counter(appendErrors, s.AppendErrors.Load())
		ch <- counter(acceptErrors, s.AcceptErrors.Load())
		ch <- counter(proxyRefused, s.ProxyRefused.Load())
	}
	return c
}

// RedisCollector exports the round-trip time of a Redis log's calls.
func RedisCollector(s *stream.RedisStats) prometheus.Collector {
	c := &collector{}
	roundTrip := c.desc("redis", "round_trip_seconds", "Time of each Redis request and its answer (appends, lookups, pings; not blocking reads).")
	c.collect = func(ch chan<- prometheus.Metric) {
		ch <- histogram(roundTrip, s.RoundTrip, seconds)
	}
	return c
}
