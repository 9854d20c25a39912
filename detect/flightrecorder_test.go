package detect_test

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/trace"
	"strings"
	"testing"
	"time"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/parse"
)

// stuckSender blocks for ever: nobody receives from ch until the test
// lets it go, after the snapshot.
func stuckSender(ch chan int) {
	ch <- 1 // the snapshot's leak
}

// TestFlightRecorderSnapshot analyzes what a user takes when something
// looks stuck: a flight recorder's snapshot of the last moments of a
// running program, which starts mid-run and ends while everything runs.
func TestFlightRecorderSnapshot(t *testing.T) {
	if trace.IsEnabled() {
		t.Skip("a trace is already being recorded")
	}
	fr := trace.NewFlightRecorder(trace.FlightRecorderConfig{MinAge: time.Second})
	if err := fr.Start(); err != nil {
		t.Skipf("cannot record in-process: %v", err)
	}
	ch, quit := make(chan int), make(chan struct{})
	go stuckSender(ch)
	go func() { // busy and healthy: a ticking loop
		for {
			select {
			case <-quit:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	waitBlocked(t, "detect_test.stuckSender", "chan send", 1)
	var snap bytes.Buffer
	_, err := fr.WriteTo(&snap)
	fr.Stop()
	<-ch
	close(quit)
	if err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	path := filepath.Join(t.TempDir(), "snapshot.trace")
	if err := os.WriteFile(path, snap.Bytes(), 0o666); err != nil {
		t.Fatal(err)
	}

	res, err := detect.Run(path, parse.Options{}, nil)
	if err != nil {
		t.Fatalf("Run on a flight-recorder snapshot: %v", err)
	}
	if !res.Trace.Complete {
		t.Errorf("snapshot read as incomplete: %v", res.Trace.Err)
	}
	var sender, ticker []detect.Finding
	for _, f := range res.Findings {
		if filepath.Base(f.Location.File) != "flightrecorder_test.go" {
			continue
		}
		if strings.HasSuffix(f.Location.Func, "stuckSender") {
			sender = append(sender, f)
		} else {
			ticker = append(ticker, f)
		}
	}
	if len(sender) != 1 || sender[0].Kind != "leak" || sender[0].Reason != parse.ReasonChanSend {
		t.Fatalf("findings on stuckSender: %v; want one leak on chan send", messages(sender))
	}
	if f := sender[0]; f.Test != "TestFlightRecorderSnapshot" {
		t.Errorf("leak %q: Test = %q; want TestFlightRecorderSnapshot", f.Message, f.Test)
	}
	// The ticking loop, caught between ticks, is blocked at the end of the
	// snapshot like any idle goroutine of a running program: at most a
	// warning, since timers wake it.
	for _, f := range ticker {
		if f.Kind != "leak" || f.Confidence != detect.ConfidenceBlockedAtEnd || f.Severity != detect.SeverityWarning {
			t.Errorf("ticking loop: %s %s (%s) %q; want at most a blocked-at-end warning", f.Severity, f.Kind, f.Confidence, f.Message)
		}
	}
}
