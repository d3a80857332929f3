package baseline

import (
	"time"

	"github.com/gorilla/websocket"
)

var newline = []byte{'\n'}

// client is one viewer: the connection, its room and its outbound channel.
// readPump and writePump are its two goroutines, as in the chat example.
type client struct {
	hub  *hub
	cfg  *Config
	conn *websocket.Conn
	room string
	send chan []byte
}

// readPump reads and discards what the viewer sends, so that pongs and
// close frames are processed, until the connection fails or goes silent.
func (c *client) readPump() {
	defer func() {
		c.hub.unregister(c)
		_ = c.conn.Close()
	}()
	c.conn.SetReadLimit(c.cfg.MaxMessageBytes)
	_ = c.conn.SetReadDeadline(time.Now().Add(c.cfg.PongWait))
	c.conn.SetPongHandler(func(string) error {
		return c.conn.SetReadDeadline(time.Now().Add(c.cfg.PongWait))
	})
	for {
		if _, _, err := c.conn.ReadMessage(); err != nil {
			return
		}
	}
}

// writePump writes queued messages, draining everything queued into one
// frame separated by newlines, and pings every 9/10 of PongWait.
func (c *client) writePump() {
	ticker := time.NewTicker(c.cfg.PongWait * 9 / 10)
	defer func() {
		ticker.Stop()
		_ = c.conn.Close()
	}()
	for {
		select {
		case message, ok := <-c.send:
			_ = c.conn.SetWriteDeadline(time.Now().Add(c.cfg.WriteWait))
			if !ok {
				_ = c.conn.WriteMessage(websocket.CloseMessage, []byte{})
				return
			}
			w, err := c.conn.NextWriter(websocket.TextMessage)
			if err != nil {
				return
			}
			_, _ = w.Write(message)
			n := len(c.send)
			for range n {
				_, _ = w.Write(newline)
				_, _ = w.Write(<-c.send)
			}
			if err := w.Close(); err != nil {
				return
			}
		case <-ticker.C:
			_ = c.conn.SetWriteDeadline(time.Now().Add(c.cfg.WriteWait))
			if err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
		}
	}
}
