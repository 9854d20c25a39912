package leaktest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime/trace"
	"sync"
	"testing"
	"time"
)

// window is the flight recorder's configuration: it keeps the last ten
// minutes (go test's default -timeout) of the trace, or about 32 MiB of it,
// whichever is less.
var window = trace.FlightRecorderConfig{MinAge: 10 * time.Minute, MaxBytes: 32 << 20}

// recorder is the flight recorder started when a test binary that links
// this package initializes, so that the goroutines a test creates after
// `defer VerifyNone(t)` are recorded with who created them.
var recorder struct {
	mu  sync.Mutex // one WriteTo at a time
	fr  *trace.FlightRecorder
	err error // why there is no recorder
}

func init() {
	switch {
	case !testing.Testing():
		recorder.err = errors.New("not a test binary")
	case os.Getenv("BLOCKSCOPE_LEAKTEST") == "off":
		recorder.err = errors.New("BLOCKSCOPE_LEAKTEST=off")
	default:
		fr := trace.NewFlightRecorder(window)
		if err := fr.Start(); err != nil {
			recorder.err = err
			return
		}
		recorder.fr = fr
	}
}

// snapshot returns the flight recorder's window: the trace of the last
// minutes up to now.
func snapshot() ([]byte, error) {
	recorder.mu.Lock()
	defer recorder.mu.Unlock()
	if recorder.fr == nil {
		return nil, fmt.Errorf("no trace recorded: %v", recorder.err)
	}
	var b bytes.Buffer
	if _, err := recorder.fr.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("snapshotting the flight recorder: %w", err)
	}
	return b.Bytes(), nil
}
