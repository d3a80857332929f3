package edge

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// browserEvent is one line testdata/deflate-browser.cjs prints.
type browserEvent struct {
	Event      string `json:"event"`
	Extensions string `json:"extensions"`
	Data       string `json:"data"`
	Code       int    `json:"code"`
	Message    string `json:"message"`
}

// TestDeflateBrowser has headless Chromium open /ws: it negotiates
// permessage-deflate, its (compressed) join is inflated, and it decodes
// the compressed batch frames of a burst of comments. The browser is
// driven by playwright-core from web/node_modules (make test-deps).
func TestDeflateBrowser(t *testing.T) {
	t.Parallel()
	env := startEnv(t, envConfig{edge: Config{Deflate: DeflateConfig{MinBytes: 1}}})
	nodePath, err := filepath.Abs("../web/node_modules")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "testdata/deflate-browser.cjs", "ws://"+env.addr+"/ws", "browser")
	cmd.Env = append(os.Environ(), "NODE_PATH="+nodePath)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("node (run make test-deps first): %v", err)
	}
	events := make(chan browserEvent, 256)
	go func() {
		defer close(events)
		for sc := bufio.NewScanner(stdout); sc.Scan(); {
			var e browserEvent
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				e = browserEvent{Event: "error", Message: sc.Text()}
			}
			events <- e
		}
	}()
	t.Cleanup(func() {
		_, _ = io.WriteString(stdin, "close\n")
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(waitTimeout):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	next := func() browserEvent {
		t.Helper()
		select {
		case e, ok := <-events:
			if !ok || e.Event == "error" || e.Event == "close" {
				t.Fatalf("browser: %+v (ok %v)", e, ok)
			}
			return e
		case <-time.After(3 * waitTimeout):
			t.Fatal("browser: no event")
		}
		return browserEvent{}
	}

	open := next()
	if open.Event != "open" || !strings.Contains(open.Extensions, "permessage-deflate") {
		t.Fatalf("got %+v; want open with permessage-deflate", open)
	}
	if e := next(); e.Event != "message" || !strings.Contains(e.Data, `"joined"`) {
		t.Fatalf("got %+v; want joined", e)
	}
	var want []string
	for i := range 30 {
		text := fmt.Sprintf("browser comment %d, compressed once for every viewer", i)
		env.post(t, "browser", text)
		want = append(want, text)
	}
	var got []string
	for len(got) < len(want) {
		e := next()
		m, err := decodeServerMessage([]byte(e.Data))
		if err != nil || m.Type != "batch" {
			t.Fatalf("browser got %q (%v); want a batch", e.Data, err)
		}
		for _, it := range m.Msgs {
			got = append(got, it.Text)
		}
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("browser got %q; want %q", got, want)
	}
}
