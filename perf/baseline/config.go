package baseline

import "time"

// Defaults for Config's zero values: those of the gorilla/websocket chat
// example, except MaxMessageBytes and MaxBodyBytes, which match danmu's.
const (
	DefaultSendBuffer      = 256
	DefaultWriteWait       = 10 * time.Second
	DefaultPongWait        = 60 * time.Second
	DefaultMaxMessageBytes = 4 << 10
	DefaultMaxBodyBytes    = 4 << 10
	DefaultMaxTextRunes    = 100
	DefaultBufferSize      = 1024
)

// Config tunes a Server. The zero value works.
type Config struct {
	// SendBuffer is the capacity of each viewer's outbound channel; a
	// viewer whose channel is full when a message arrives is dropped.
	// Zero means DefaultSendBuffer.
	SendBuffer int
	// WriteWait bounds one write to a viewer. Zero means DefaultWriteWait.
	WriteWait time.Duration
	// PongWait is how long a viewer may stay silent; pings go out every
	// 9/10 of it. Zero means DefaultPongWait.
	PongWait time.Duration
	// MaxMessageBytes caps a message from a viewer. Zero means
	// DefaultMaxMessageBytes.
	MaxMessageBytes int64
	// MaxBodyBytes caps a POST body. Zero means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxTextRunes is the longest comment text. Zero means
	// DefaultMaxTextRunes.
	MaxTextRunes int
	// ReadBufferSize and WriteBufferSize are the upgrader's buffer sizes.
	// Zero means DefaultBufferSize.
	ReadBufferSize, WriteBufferSize int
}

func (c Config) withDefaults() Config {
	if c.SendBuffer <= 0 {
		c.SendBuffer = DefaultSendBuffer
	}
	if c.WriteWait <= 0 {
		c.WriteWait = DefaultWriteWait
	}
	if c.PongWait <= 0 {
		c.PongWait = DefaultPongWait
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.MaxTextRunes <= 0 {
		c.MaxTextRunes = DefaultMaxTextRunes
	}
	if c.ReadBufferSize <= 0 {
		c.ReadBufferSize = DefaultBufferSize
	}
	if c.WriteBufferSize <= 0 {
		c.WriteBufferSize = DefaultBufferSize
	}
	return c
}
