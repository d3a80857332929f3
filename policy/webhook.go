package policy

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Webhook limits and defaults (docs/hooks.md, "Webhooks").
const (
	// DefaultWebhookTimeout bounds one attempt of a webhook call.
	DefaultWebhookTimeout = 500 * time.Millisecond
	// MaxWebhookAnswerBytes is the largest answer body read from a
	// webhook; a larger one is a failed call.
	MaxWebhookAnswerBytes = 64 << 10
	// webhookBackoff is the pause before the first retry; it doubles
	// with each further one.
	webhookBackoff = 50 * time.Millisecond
)

// Webhook headers. With a secret, every call carries the time it was
// signed (Unix seconds) and the signature of "<timestamp>.<body>".
const (
	HeaderWebhookTimestamp = "X-Danmu-Timestamp"
	HeaderWebhookSignature = "X-Danmu-Signature"
)

// Endpoint is where a webhook is sent and how patiently.
type Endpoint struct {
	// URL is the http or https URL the JSON is POSTed to.
	URL string
	// Secret, when set, signs every call (see SignWebhook).
	Secret []byte
	// Timeout bounds one attempt, answer read included. Zero means
	// DefaultWebhookTimeout.
	Timeout time.Duration
	// Retries is how many times an attempt that failed on the transport
	// or with a 5xx is made again, after 50 ms, then 100 ms, and so on,
	// within the caller's deadline. Zero means none.
	Retries int
}

// SignWebhook returns the X-Danmu-Signature of a call: "sha256=" and the
// hex HMAC-SHA256, keyed by secret, of timestamp, ".", and body. A
// backend recomputes it over the raw body it received and compares in
// constant time (hmac.Equal), and refuses old timestamps to stop replays.
func SignWebhook(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// webhookComment is the part of a comment both webhooks receive.
type webhookComment struct {
	Room  string `json:"room"`
	UID   string `json:"uid"`
	Name  string `json:"name"`
	Text  string `json:"text"`
	Color string `json:"color"`
	Mode  string `json:"mode"`
	Prio  int    `json:"prio"`
	CID   string `json:"cid,omitempty"`
}

func webhookCommentOf(c *Comment) webhookComment {
	m := &c.Message
	return webhookComment{Room: c.Room, UID: m.UID, Name: m.Name, Text: m.Text, Color: m.Color, Mode: m.Mode, Prio: m.Prio, CID: m.CID}
}

// webhook calls one Endpoint. It is safe for concurrent use.
type webhook struct {
	// Immutable after newWebhook.
	endpoint Endpoint
	client   *http.Client
}

func newWebhook(e Endpoint) (*webhook, error) {
	u, err := url.Parse(e.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: URL %q is not an http or https URL", ErrWebhook, e.URL)
	}
	if e.Timeout <= 0 {
		e.Timeout = DefaultWebhookTimeout
	}
	e.Retries = max(e.Retries, 0)
	dialer := &net.Dialer{Timeout: e.Timeout, KeepAlive: 30 * time.Second}
	transport := &http.Transport{
		DialContext:         dialer.DialContext,
		TLSHandshakeTimeout: e.Timeout,
		MaxIdleConns:        64,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	client := &http.Client{
		Transport: transport,
		// A redirect is answered as it is, a 3xx and so a failed call:
		// following it could take the comment, and the signature, to
		// another host.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &webhook{endpoint: e, client: client}, nil
}

// call POSTs body and returns the answer body of a 2xx, retrying as
// Endpoint.Retries says while ctx lasts.
func (w *webhook) call(ctx context.Context, body []byte) ([]byte, error) {
	pause := webhookBackoff
	for attempt := 0; ; attempt++ {
		answer, retry, err := w.attempt(ctx, body)
		if err == nil {
			return answer, nil
		}
		if !retry || attempt >= w.endpoint.Retries {
			return nil, err
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		pause *= 2
	}
}

// attempt POSTs body once. retry reports a failure worth another attempt:
// a transport error or a 5xx.
func (w *webhook) attempt(ctx context.Context, body []byte) (answer []byte, retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, w.endpoint.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.endpoint.URL, bytes.NewReader(body))
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrWebhook, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "danmu-webhook")
	if len(w.endpoint.Secret) > 0 {
		timestamp := strconv.FormatInt(time.Now().Unix(), 10)
		req.Header.Set(HeaderWebhookTimestamp, timestamp)
		req.Header.Set(HeaderWebhookSignature, SignWebhook(w.endpoint.Secret, timestamp, body))
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return nil, true, fmt.Errorf("%w: %w", ErrWebhook, err)
	}
	defer resp.Body.Close()
	answer, err = io.ReadAll(io.LimitReader(resp.Body, MaxWebhookAnswerBytes+1))
	switch {
	case err != nil:
		return nil, true, fmt.Errorf("%w: reading the answer: %w", ErrWebhook, err)
	case len(answer) > MaxWebhookAnswerBytes:
		return nil, false, fmt.Errorf("%w: answer above %d bytes", ErrWebhook, MaxWebhookAnswerBytes)
	case resp.StatusCode >= 500:
		return nil, true, fmt.Errorf("%w: status %d", ErrWebhook, resp.StatusCode)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, false, fmt.Errorf("%w: status %d", ErrWebhook, resp.StatusCode)
	}
	return answer, false, nil
}
