package cli

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestStatusLine(t *testing.T) {
	s := newStatusLine(nil, false)
	s.listed(3)
	now := time.Now()
	s.start("example.com/b")
	s.start("example.com/a")
	s.running["example.com/a"] = now.Add(-1500 * time.Millisecond)
	s.running["example.com/b"] = now.Add(-300 * time.Millisecond)
	if got, want := s.line(now), "[0/3 done] example.com/a 1.5s, example.com/b 0.3s"; got != want {
		t.Errorf("line = %q; want %q", got, want)
	}
	s.finish("example.com/a")
	if got, want := s.line(now), "[1/3 done] example.com/b 0.3s"; got != want {
		t.Errorf("line after a finished = %q; want %q", got, want)
	}
}

// TestStatusLineOff: off a terminal (or with --quiet) nothing is drawn.
func TestStatusLineOff(t *testing.T) {
	var buf bytes.Buffer
	if isTerminal(&buf) {
		t.Errorf("isTerminal(a buffer) = true")
	}
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(f) {
		t.Errorf("isTerminal(a regular file) = true")
	}
	s := newStatusLine(&buf, false)
	s.listed(1)
	s.start("example.com/a")
	time.Sleep(250 * time.Millisecond)
	s.finish("example.com/a")
	s.stop()
	if buf.Len() != 0 {
		t.Errorf("status line off wrote %q", buf.String())
	}
}

// TestStatusLineOn: on, the line is redrawn in place and cleared at the end.
func TestStatusLineOn(t *testing.T) {
	var buf lockedBuffer
	s := newStatusLine(&buf, true)
	s.listed(2)
	s.start("example.com/a")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(buf.String(), "example.com/a") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	s.stop()
	out := buf.String()
	if !strings.Contains(out, "\r\033[K[0/2 done] example.com/a ") || !strings.HasSuffix(out, "\r\033[K") {
		t.Errorf("status line wrote %q; want the line drawn, then cleared", out)
	}
}

// lockedBuffer is a bytes.Buffer safe for the status line's goroutine.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
