package report_test

import (
	"bytes"
	"runtime/trace"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/parse"
	"github.com/blockscope/blockscope/report"
)

// TestPprofSyscall records a goroutine blocked 20ms in a read(2) of a pipe
// and checks that the blocking profile has it: a syscall-labelled sample
// through syscall.Read, its delay about the time the read waited.
func TestPprofSyscall(t *testing.T) {
	if trace.IsEnabled() {
		t.Skip("a trace is already being recorded")
	}
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		t.Skipf("no pipe: %v", err)
	}
	defer syscall.Close(fds[0])
	defer syscall.Close(fds[1])

	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Fatalf("trace.Start: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var b [1]byte
		syscall.Read(fds[0], b[:]) // blocks in the system call until the write
	}()
	const wait = 20 * time.Millisecond
	time.Sleep(wait)
	syscall.Write(fds[1], []byte{1})
	<-done
	trace.Stop()

	f := report.LookupFormat("pprof")
	g := f.Gather()
	res, err := detect.RunReader(bytes.NewReader(buf.Bytes()), parse.Options{}, nil, g)
	if err != nil {
		t.Fatal(err)
	}
	a := report.FromResult(res)
	g.AddTo(a)
	var out bytes.Buffer
	if err := report.Pprof(&out, a); err != nil {
		t.Fatal(err)
	}
	p, err := profile.Parse(&out)
	if err != nil {
		t.Fatalf("profile.Parse: %v", err)
	}
	for _, s := range p.Sample {
		if !slices.Contains(s.Label["reason"], "syscall") {
			continue
		}
		for _, loc := range s.Location {
			if loc.Line[0].Function.Name == "syscall.Read" {
				if d := time.Duration(s.Value[1]); d < wait/2 {
					t.Errorf("the read's sample: delay %v; want about %v", d, wait)
				}
				return
			}
		}
	}
	for _, s := range p.Sample {
		t.Logf("sample %v %v: %d frames", s.Value, s.Label, len(s.Location))
	}
	t.Errorf("no syscall sample has syscall.Read on its stack")
}
