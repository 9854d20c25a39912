package detect

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blockscope/blockscope/parse"
)

func TestGoroutineGrowthSynthetic(t *testing.T) {
	const goLine = 10
	// spawn creates goroutines 100+i at the given times, from goLine;
	// lives gives each one's life in ms (0: to the end).
	spawn := func(s *sqStream, at []float64, life float64) {
		create := s.st.add(sqLib("runtime.newproc"), sqUser(goLine))
		for i, ms := range at {
			g := parse.GoID(100 + i)
			s.create(ms, g, 1, create)
			if life > 0 {
				s.exit(ms+life, g)
			}
		}
	}
	tests := []struct {
		name  string
		opts  GrowthOptions
		build func(s *sqStream)
		want  map[string]int64 // nil: no finding
		msg   string
	}{
		{
			name:  "steady",
			build: func(s *sqStream) { spawn(s, every(0, 10, 30), 0) },
			want:  map[string]int64{"created": 30, "exited": 0, "live_at_end": 30, "windows_grown": 10},
			msg:   "goroutines started at main.go:10 grow steadily: 30 created, 0 exited, 30 alive at trace end; the live count rose in 10 of 10 windows over 300ms",
		},
		{
			name:  "pool started once",
			build: func(s *sqStream) { spawn(s, every(0, 0.01, 30), 0) },
		},
		{
			name:  "burst that drains",
			build: func(s *sqStream) { spawn(s, every(0, 0.1, 50), 20) },
		},
		{
			name:  "churn",
			build: func(s *sqStream) { spawn(s, every(0, 2, 150), 5) },
		},
		{
			name:  "below the minimum",
			build: func(s *sqStream) { spawn(s, every(0, 30, 9), 0) },
		},
		{
			name:  "minimum lowered",
			opts:  GrowthOptions{Min: 5},
			build: func(s *sqStream) { spawn(s, every(0, 30, 9), 0) },
			want:  map[string]int64{"live_at_end": 9},
		},
		{
			// Growth over the first half, then a plateau: five windows
			// of ten.
			name:  "half steady",
			build: func(s *sqStream) { spawn(s, every(0, 10, 15), 0) },
		},
		{
			// Grown on demand up to a cap, then flat: not reported,
			// however few windows it asks for.
			name:  "half steady, then a plateau, steadiness lowered",
			opts:  GrowthOptions{Steady: 0.5},
			build: func(s *sqStream) { spawn(s, every(0, 10, 15), 0) },
		},
		{
			// Growth, a pause, and growth again up to the end.
			name: "steady with a pause",
			build: func(s *sqStream) {
				spawn(s, every(0, 10, 10), 0)
				spawn(s, every(180, 10, 12), 0)
			},
			want: map[string]int64{"windows_grown": 8, "live_at_end": 22},
		},
		{
			name: "steady, each leaked goroutine blocked",
			build: func(s *sqStream) {
				spawn(s, every(0, 10, 30), 0)
				send := s.st.add(sqLib("runtime.chansend1"), sqUser(12))
				for i := range 30 {
					s.block(float64(i)*10+1, parse.GoID(100+i), parse.ReasonChanSend, send)
				}
			},
			want: map[string]int64{"live_at_end": 30},
			msg:  "; 30 of them blocked in chan send at main.go:12",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s sqStream
			tt.build(&s)
			fs := s.run(newGrowth(tt.opts), 300)
			if tt.want == nil {
				if len(fs) != 0 {
					t.Fatalf("findings = %d (%s); want none", len(fs), fs[0].Message)
				}
				return
			}
			if len(fs) != 1 {
				t.Fatalf("findings = %d; want 1", len(fs))
			}
			f := fs[0]
			for k, v := range tt.want {
				if f.Stats[k] != v {
					t.Errorf("stats[%q] = %d; want %d (message: %s)", k, f.Stats[k], v, f.Message)
				}
			}
			if !strings.Contains(f.Message, tt.msg) {
				t.Errorf("message = %q; want it to contain %q", f.Message, tt.msg)
			}
			if f.Location.Line != goLine || f.Kind != "goroutine-growth" || f.Evidence != EvidenceRuntime {
				t.Errorf("finding = %s (%s) at %v; want goroutine-growth (runtime) at line %d", f.Kind, f.Evidence, f.Location, goLine)
			}
			if len(f.Goroutines) == 0 || len(f.Goroutines) > 20 {
				t.Errorf("goroutines = %d; want 1 to 20", len(f.Goroutines))
			}
		})
	}
}

// TestGoroutineGrowthTraced records goroutines started steadily and never
// stopped, beside a pool started once: only the first are reported.
//
// Steadily means over the whole trace, up to its end: a machine that
// stalls the loop, or trace.Stop, for a tenth of the run leaves a window
// with no creation, and the growth is no longer what the test means. The
// loop goes on until it has run for twenty times its longest stall, and
// the test measures the trace (the creations at the loop's line, and its
// end): if a stall still took a tenth of it, it records again, at most 5
// times.
func TestGoroutineGrowthTraced(t *testing.T) {
	stop := make(chan struct{})
	defer close(stop)
	const attempts = 5
	for range attempts {
		var line, n int
		gr := newGrowth(DefaultGrowthOptions())
		cr := &loopCreations{line: &line}
		recordTrace(t, func() {
			var ready sync.WaitGroup
			for range 8 { // a pool, started once
				ready.Add(1)
				go func() {
					ready.Done()
					<-stop
				}()
			}
			ready.Wait()
			start := time.Now()
			last, stall := start, time.Duration(0)
			line = callerLine() + 2
			for n = 0; n < 40 || stall > time.Since(start)/20 && time.Since(start) < 5*time.Second; n++ {
				go func() { <-stop }()
				now := time.Now()
				stall, last = max(stall, now.Sub(last)), now
				time.Sleep(2 * time.Millisecond)
			}
		}, gr, cr)
		if len(cr.at) != n {
			t.Fatalf("the trace has %d creations at line %d; want %d", len(cr.at), line, n)
		}
		if gap, span := cr.longestGap(); gap > span/growthWindows {
			t.Logf("the machine stalled the scenario for %v of its %v: recording again", time.Duration(gap), time.Duration(span))
			continue
		}
		fs := gr.Findings()
		if len(fs) != 1 {
			for _, f := range fs {
				t.Log(f.Message)
			}
			t.Fatalf("findings = %d; want 1", len(fs))
		}
		if f := fs[0]; f.Location.Line != line || f.Stats["live_at_end"] != int64(n) {
			t.Errorf("finding at %v with %d alive; want line %d with %d: %s", f.Location, f.Stats["live_at_end"], line, n, f.Message)
		}
		return
	}
	t.Fatalf("the machine stalled the scenario in each of %d recordings", attempts)
}

// loopCreations records the times of the goroutine creations at one line of
// a recorded trace, and the trace's end.
type loopCreations struct {
	line *int // read when the trace is
	at   []parse.Time
	end  parse.Time
}

func (c *loopCreations) Event(t *parse.Trace, ev *parse.Event) {
	if ev.Kind != parse.EvCreate {
		return
	}
	if loc, _ := t.Stacks.Location(ev.PeerStack); loc.Line == *c.line {
		c.at = append(c.at, ev.Time)
	}
}

func (c *loopCreations) Finalize(t *parse.Trace) { c.end = parse.Time(t.End - t.Start) }

// longestGap returns the longest time with no creation between the first
// creation and the end of the trace, and that span.
func (c *loopCreations) longestGap() (gap, span parse.Time) {
	if len(c.at) == 0 {
		return 0, 0
	}
	prev := c.at[0]
	for _, x := range append(c.at[1:], c.end) {
		gap = max(gap, x-prev)
		prev = x
	}
	return gap, c.end - c.at[0]
}
