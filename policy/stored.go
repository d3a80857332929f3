package policy

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/danmu-dev/danmu/codec"
)

// Stored webhook defaults.
const (
	DefaultStoredHookQueue   = 1024
	DefaultStoredHookWorkers = 2
)

// StoredHookConfig configures the stored webhook (NewStoredHook).
type StoredHookConfig struct {
	Endpoint
	// Queue is how many stored comments may wait to be sent; a comment
	// stored while it is full is dropped and counted. Zero means
	// DefaultStoredHookQueue.
	Queue int
	// Workers is how many calls are made at once. Zero means
	// DefaultStoredHookWorkers.
	Workers int
	// Logger logs failed calls and drops. Nil means slog.Default().
	Logger *slog.Logger
}

// StoredHook tells an HTTP backend about every stored comment, with its
// id, after the post is answered: best effort, it never delays nor fails
// a post (docs/hooks.md, "Webhooks"). Add it to ingest's chain with Use,
// and Run it.
type StoredHook struct {
	// Immutable after NewStoredHook.
	webhook *webhook
	workers int
	logger  *slog.Logger

	queue chan []byte // JSON bodies, each owned by the queue once sent

	delivered atomic.Uint64
	failed    atomic.Uint64
	dropped   atomic.Uint64
}

// NewStoredHook returns the stored webhook of cfg, or an error wrapping
// ErrWebhook when cfg.URL is not an http or https URL.
func NewStoredHook(cfg StoredHookConfig) (*StoredHook, error) {
	w, err := newWebhook(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	if cfg.Queue <= 0 {
		cfg.Queue = DefaultStoredHookQueue
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultStoredHookWorkers
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &StoredHook{webhook: w, workers: cfg.Workers, logger: cfg.Logger, queue: make(chan []byte, cfg.Queue)}, nil
}

// storedEvent is the JSON the stored webhook receives.
type storedEvent struct {
	ID string `json:"id"`
	TS int64  `json:"ts"`
	webhookComment
}

func (h *StoredHook) Name() string { return "stored-webhook" }

// Before does nothing: the stored webhook acts once the comment is stored.
func (h *StoredHook) Before(ctx context.Context, c *Comment) error { return nil }

// After queues c, stored as id, for the workers of Run, or drops it when
// the queue is full. It never blocks.
func (h *StoredHook) After(ctx context.Context, c *Comment, id codec.ID) {
	body, err := codec.JSON.Marshal(storedEvent{ID: id.String(), TS: c.Message.TS, webhookComment: webhookCommentOf(c)})
	if err != nil {
		h.logger.Error("policy: stored webhook: encoding a stored comment failed", "room", c.Room, "err", err)
		return
	}
	select {
	case h.queue <- body:
	default:
		// Log the 1st, 2nd, 4th, 8th, ... drop: an outage is seen at
		// once without a log line per comment.
		if n := h.dropped.Add(1); n&(n-1) == 0 {
			h.logger.Warn("policy: stored webhook queue full, comments dropped", "dropped", n)
		}
	}
}

// Run sends the queued comments with Config.Workers goroutines until ctx
// ends, and returns once they have stopped. Comments still queued then
// are not sent.
func (h *StoredHook) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for range h.workers {
		wg.Go(func() { h.work(ctx) })
	}
	wg.Wait()
}

func (h *StoredHook) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case body := <-h.queue:
			if _, err := h.webhook.call(ctx, body); err != nil {
				if n := h.failed.Add(1); n&(n-1) == 0 {
					h.logger.Warn("policy: stored webhook failed", "failed", n, "err", err)
				}
				continue
			}
			h.delivered.Add(1)
		}
	}
}

// StoredHookStats counts what became of the stored comments.
type StoredHookStats struct {
	// Delivered were answered with a 2xx.
	Delivered uint64
	// Failed were not, after their retries.
	Failed uint64
	// Dropped found the queue full.
	Dropped uint64
}

// Stats returns the counts so far.
func (h *StoredHook) Stats() StoredHookStats {
	return StoredHookStats{Delivered: h.delivered.Load(), Failed: h.failed.Load(), Dropped: h.dropped.Load()}
}
