package detect

import (
	"bytes"
	"cmp"
	"context"
	"math"
	"runtime"
	"runtime/trace"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	xsemaphore "golang.org/x/sync/semaphore"

	"github.com/blockscope/blockscope/internal/tracetest"
	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
	"github.com/blockscope/blockscope/primitives/semaphore"
)

// sqStacks is a synthetic stack table for the semaphore-queue,
// singleflight-fanin and goroutine-growth tests.
type sqStacks struct{ stacks [][]parse.Frame }

func (s *sqStacks) add(frames ...parse.Frame) parse.StackID {
	s.stacks = append(s.stacks, frames)
	return parse.StackID(len(s.stacks))
}

func (s *sqStacks) Depth(id parse.StackID) int {
	if id <= 0 || int(id) > len(s.stacks) {
		return 0
	}
	return len(s.stacks[id-1])
}

func (s *sqStacks) Frame(id parse.StackID, i int) parse.Frame { return s.stacks[id-1][i] }

func (s *sqStacks) Frames(id parse.StackID) []parse.Frame {
	if s.Depth(id) == 0 {
		return nil
	}
	return slices.Clone(s.stacks[id-1])
}

func (s *sqStacks) Location(id parse.StackID) (parse.Frame, bool) {
	if s.Depth(id) == 0 {
		return parse.Frame{}, false
	}
	for _, f := range s.stacks[id-1] {
		if f.IsUser() {
			return f, true
		}
	}
	return s.stacks[id-1][0], true
}

// sqUser is a frame of the user's code at main.go:line.
func sqUser(line int) parse.Frame {
	return parse.Frame{Func: "example.com/app.handle", File: "example.com/app/main.go", Line: line}
}

// sqLib is a frame of a library or runtime function.
func sqLib(fn string) parse.Frame { return parse.Frame{Func: fn, File: "lib.go", Line: 1} }

// sqMs converts milliseconds to a trace time.
func sqMs(ms float64) parse.Time { return parse.Time(math.Round(ms * float64(time.Millisecond))) }

// sqStream builds a synthetic event stream.
type sqStream struct {
	st   sqStacks
	evs  []parse.Event
	open map[parse.GoID]parse.Event // blocks not yet woken
}

func (s *sqStream) add(ev parse.Event) { s.evs = append(s.evs, ev) }

// ann appends an annotation written by g under stack.
func (s *sqStream) ann(ms float64, g parse.GoID, stack parse.StackID, e wire.Event) {
	s.add(parse.Event{Kind: parse.EvAnnotation, Time: sqMs(ms), G: g, Peer: parse.NoGoroutine, Stack: stack, Annotation: e})
}

func (s *sqStream) block(ms float64, g parse.GoID, reason string, stack parse.StackID) {
	ev := parse.Event{Kind: parse.EvBlock, Time: sqMs(ms), G: g, Peer: parse.NoGoroutine, Reason: reason, Stack: stack}
	if s.open == nil {
		s.open = make(map[parse.GoID]parse.Event)
	}
	s.open[g] = ev
	s.add(ev)
}

// wake ends g's open block; waker may be parse.NoGoroutine.
func (s *sqStream) wake(ms float64, g, waker parse.GoID, wakerStack parse.StackID) {
	b := s.open[g]
	delete(s.open, g)
	s.add(parse.Event{Kind: parse.EvWake, Time: sqMs(ms), G: g, Peer: waker, PeerStack: wakerStack, Reason: b.Reason, Stack: b.Stack, Start: b.Time})
}

func (s *sqStream) create(ms float64, g, creator parse.GoID, createStack parse.StackID) {
	s.add(parse.Event{Kind: parse.EvCreate, Time: sqMs(ms), G: g, Peer: creator, PeerStack: createStack})
}

func (s *sqStream) exit(ms float64, g parse.GoID) {
	s.add(parse.Event{Kind: parse.EvExit, Time: sqMs(ms), G: g, Peer: parse.NoGoroutine})
}

// run feeds the stream, in time order, to a fresh analyzer of the
// detector and returns its findings; the trace ends at endMs.
func (s *sqStream) run(a Analyzer, endMs float64) []Finding {
	switch a := a.(type) {
	case *semaQueue:
		a.st = &s.st
	case *sfFanIn:
		a.st = &s.st
	case *growth:
		a.st = &s.st
	}
	evs := slices.Clone(s.evs)
	slices.SortStableFunc(evs, func(a, b parse.Event) int { return cmp.Compare(a.Time, b.Time) })
	tr := &parse.Trace{End: int64(sqMs(endMs))}
	for i := range evs {
		a.Event(tr, &evs[i])
	}
	a.Finalize(tr)
	return a.Findings()
}

// The stacks of a semaphore's operations.
const (
	semaPrim  = parse.PrimitivesPath + "semaphore.(*Weighted)."
	semaXSync = "golang.org/x/sync/semaphore.(*Weighted)."
)

// semaSim simulates a semaphore of the given size, weight 1 each,
// FIFO: goroutine 100+i, started by goroutine 1, arrives at arrivals[i]
// ms and holds it for hold ms. It writes annotations like primitives/semaphore's (stock false) or
// runtime events like x/sync's (stock true), with Acquire at acqLine and
// Release at relLine.
type semaSim struct {
	s                *sqStream
	obj              wire.ObjectID
	size             int
	stock            bool
	acqLine, relLine int
	oneBatch         bool // goroutine 1 never pauses: one loop of go statements
}

func (m semaSim) run(arrivals []float64, hold float64) {
	s := m.s
	var (
		acqStack, waitStack, relStack, blockStack, wakerStack parse.StackID
	)
	if m.stock {
		blockStack = s.st.add(sqLib("runtime.gopark"), sqLib("runtime.selectgo"), sqLib(semaXSync+"Acquire"), sqUser(m.acqLine))
		wakerStack = s.st.add(sqLib("runtime.closechan"), sqLib(semaXSync+"notifyWaiters"), sqLib(semaXSync+"Release"), sqUser(m.relLine))
	} else {
		acqStack = s.st.add(sqLib(semaPrim+"emit"), sqLib(semaPrim+"Acquire"), sqUser(m.acqLine))
		waitStack = acqStack
		relStack = s.st.add(sqLib(semaPrim+"emit"), sqLib(semaPrim+"Release"), sqUser(m.relLine))
	}
	type holder struct {
		g   parse.GoID
		end float64
	}
	var (
		holding       []holder
		queue         []parse.GoID
		acquires, rel uint64
	)
	grant := func(g parse.GoID, at float64, ref uint64, waited bool) {
		acquires++
		if !m.stock {
			s.ann(at, g, acqStack, wire.Event{Kind: wire.KindSemaphore, Object: m.obj, Op: wire.OpAcquire, Seq: acquires, N: 1, Ref: ref})
		}
		holding = append(holding, holder{g, at + hold})
		slices.SortStableFunc(holding, func(a, b holder) int { return cmp.Compare(a.end, b.end) })
	}
	release := func() {
		h := holding[0]
		holding = holding[1:]
		rel++
		admit := min(len(queue), 1)
		if !m.stock {
			s.ann(h.end, h.g, relStack, wire.Event{Kind: wire.KindSemaphore, Object: m.obj, Op: wire.OpRelease, Seq: rel, N: 1, Depth: int64(len(queue) - admit)})
		}
		if admit > 0 {
			g := queue[0]
			queue = queue[1:]
			if m.stock {
				s.wake(h.end+0.01, g, h.g, wakerStack)
			}
			grant(g, h.end+0.02, rel, true)
		}
	}
	for i, at := range arrivals {
		for len(holding) > 0 && holding[0].end <= at {
			release()
		}
		g := parse.GoID(100 + i)
		// Goroutine 1 starts every arriving goroutine, pausing (a sleep)
		// between arrivals that are not at once: those at one time are
		// one batch.
		if i > 0 && at > arrivals[i-1] && !m.oneBatch {
			s.block(at, 1, parse.ReasonSleep, parse.NoStack)
		}
		s.create(at, g, 1, parse.NoStack)
		if len(holding) < m.size && len(queue) == 0 {
			grant(g, at, 0, false)
			continue
		}
		queue = append(queue, g)
		if m.stock {
			s.block(at, g, parse.ReasonSelect, blockStack)
		} else {
			s.ann(at, g, waitStack, wire.Event{Kind: wire.KindSemaphore, Object: m.obj, Op: wire.OpWait, N: 1, Depth: int64(len(queue))})
		}
	}
	for len(holding) > 0 {
		release()
	}
}

// every returns n times, step ms apart, from start.
func every(start, step float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = start + float64(i)*step
	}
	return out
}

func TestSemaphoreQueueSynthetic(t *testing.T) {
	const acq, rel = 20, 25
	tests := []struct {
		name     string
		opts     SemaphoreOptions
		stock    bool
		oneBatch bool
		size     int
		arrivals []float64
		hold     float64
		want     map[string]int64 // stats; nil: no finding
		burst    bool             // the finding is a burst (info), not a buildup
	}{
		{
			name: "backlog", size: 2, arrivals: every(0, 1, 60), hold: 5,
			want: map[string]int64{"waits": 58, "grants": 60, "arrivals": 60, "cancels": 0, "max_depth": 36, "max_weight": 36, "waiting_at_end": 0},
		},
		{
			name: "backlog from the trace alone", stock: true, size: 2, arrivals: every(0, 1, 60), hold: 5,
			want: map[string]int64{"waits": 58, "grants": 58, "arrivals": 58, "cancels": 0, "max_depth": 36, "waiting_at_end": 0},
		},
		{name: "healthy", size: 4, arrivals: every(0, 2, 60), hold: 3},
		{name: "healthy from the trace alone", stock: true, size: 4, arrivals: every(0, 2, 60), hold: 3},
		{
			// 9 over 16 ms on a semaphore of 1 held 20 ms at a time:
			// the queue rises by 8 before anyone is served.
			name: "rise at the depth threshold", size: 1, arrivals: every(0, 2, 9), hold: 20,
			want: map[string]int64{"waits": 8, "max_depth": 8, "buildup_growth": 8},
		},
		{name: "rise below the depth threshold", size: 1, arrivals: every(0, 2, 8), hold: 20},
		{
			// A batch of 20 started at once on a semaphore of 3: the
			// queue of 17 only drains; the last waits 12 ms. A burst
			// (info), not a buildup.
			name: "a batch at once", size: 3, arrivals: every(0, 0, 20), hold: 2,
			want: map[string]int64{"burst_started": 20, "slots": 3, "max_depth": 17, "drain_ns": int64(12100 * time.Microsecond)}, burst: true,
		},
		{
			name: "a batch at once, from the trace alone", stock: true, size: 3, arrivals: every(0, 0, 20), hold: 2,
			want: map[string]int64{"burst_started": 20, "slots": 3, "max_depth": 17}, burst: true,
		},
		{
			// A loop starting 1000 goroutines outlasts the first holds,
			// but it is still one batch: a burst.
			name: "a batch from a long loop", oneBatch: true, size: 4, arrivals: every(0, 0.012, 1000), hold: 10,
			want: map[string]int64{"burst_started": 1000, "slots": 4}, burst: true,
		},
		{
			name: "a batch from a long loop, from the trace alone", stock: true, oneBatch: true, size: 4, arrivals: every(0, 0.012, 1000), hold: 10,
			want: map[string]int64{"burst_started": 1000}, burst: true,
		},
		{
			// The same arrivals from a producer that pauses between
			// them: work that keeps coming.
			name: "the same arrivals, paced", size: 4, arrivals: every(0, 0.012, 1000), hold: 10,
			want: map[string]int64{"max_depth": 992},
		},
		{name: "waits below the wait threshold", size: 10, arrivals: every(0, 0, 40), hold: 0.1},
		{
			// One arrival every 60 ms, served every 100 ms: the queue
			// rises by about one per 150 ms.
			name: "slow rise outside the window", opts: SemaphoreOptions{Window: 100 * time.Millisecond},
			size: 1, arrivals: every(0, 60, 40), hold: 100,
		},
		{
			name: "slow rise inside the window", opts: SemaphoreOptions{Window: 10 * time.Second},
			size: 1, arrivals: every(0, 60, 40), hold: 100,
			want: map[string]int64{"waits": 39, "max_depth": 16},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s sqStream
			semaSim{s: &s, obj: 7, size: tt.size, stock: tt.stock, acqLine: acq, relLine: rel, oneBatch: tt.oneBatch}.run(tt.arrivals, tt.hold)
			opts := DefaultSemaphoreOptions()
			if tt.opts.Window != 0 {
				opts.Window = tt.opts.Window
			}
			fs := s.run(newSemaQueue(opts), 10000)
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
			wantSev, wantCause := SeverityWarning, "buildup"
			if tt.burst {
				wantSev, wantCause = SeverityInfo, "burst"
			}
			if f.Severity != wantSev || f.Cause != wantCause {
				t.Errorf("severity, cause = %q, %q; want %q, %q (message: %s)", f.Severity, f.Cause, wantSev, wantCause, f.Message)
			}
			for k, v := range tt.want {
				if f.Stats[k] != v {
					t.Errorf("stats[%q] = %d; want %d (message: %s)", k, f.Stats[k], v, f.Message)
				}
			}
			if f.Location.Line != acq {
				t.Errorf("location = %v; want the Acquire line %d", f.Location, acq)
			}
			wantConf, wantEv := ConfidenceExact, EvidenceAnnotations
			if tt.stock {
				wantConf, wantEv = ConfidencePerCallSite, EvidenceRuntime
			}
			if f.Confidence != wantConf || f.Evidence != wantEv {
				t.Errorf("confidence, evidence = %q, %q; want %q, %q", f.Confidence, f.Evidence, wantConf, wantEv)
			}
			roles := make(map[string]int)
			for _, r := range f.Related {
				roles[r.Role]++
			}
			if roles["waiter"] == 0 || roles["holder"] == 0 || roles["releaser"] != 1 {
				t.Errorf("related roles = %v; want waiters, holders and one releaser", roles)
			}
			for _, r := range f.Related {
				if r.Role == "releaser" && (r.Location.Line != rel || r.Goroutine != 0) {
					t.Errorf("releaser goroutine %d at %v; want no one goroutine, the Release line %d", r.Goroutine, r.Location, rel)
				}
			}
			if f.Stats["wait_p50_ns"] > f.Stats["wait_p99_ns"] || f.Stats["wait_p99_ns"] > f.Stats["wait_max_ns"] {
				t.Errorf("wait percentiles p50 %d, p99 %d, max %d out of order", f.Stats["wait_p50_ns"], f.Stats["wait_p99_ns"], f.Stats["wait_max_ns"])
			}
		})
	}
}

// TestSemaphoreQueueEdges checks the bookkeeping of unusual operation
// sequences, op by op.
func TestSemaphoreQueueEdges(t *testing.T) {
	sema := func(op wire.Op, seq uint64, n, depth int64, ref uint64) wire.Event {
		return wire.Event{Kind: wire.KindSemaphore, Object: 3, Op: op, Seq: seq, N: n, Depth: depth, Ref: ref}
	}
	// Wait 0: every rise counts (bursts have their own test), and so does
	// every wait.
	opts := SemaphoreOptions{Depth: 3, Wait: 0, Window: time.Second}
	tests := []struct {
		name  string
		build func(s *sqStream, acq, rel parse.StackID)
		want  map[string]int64 // nil: no finding
		msg   string           // a substring of the message
	}{
		{
			// A Release's depth says the waiters it admitted left the
			// queue then, not when they returned from Acquire.
			name: "depth follows the release",
			build: func(s *sqStream, acq, rel parse.StackID) {
				s.ann(0, 1, acq, sema(wire.OpAcquire, 1, 4, 0, 0))
				for i := range 4 {
					s.ann(1+float64(i), parse.GoID(10+i), acq, sema(wire.OpWait, 0, 1, int64(i+1), 0))
				}
				s.ann(20, 1, rel, sema(wire.OpRelease, 1, 4, 0, 0)) // admits all four
				for i := range 4 {
					s.ann(30+float64(i), parse.GoID(10+i), acq, sema(wire.OpAcquire, uint64(2+i), 1, 0, 1))
				}
			},
			// depth ≥ 3 from 3 ms to the release at 20 ms.
			want: map[string]int64{"max_depth": 4, "above_depth_ns": int64(17 * time.Millisecond), "waits": 4, "grants": 5},
		},
		{
			name: "cancelled waits leave the queue",
			build: func(s *sqStream, acq, rel parse.StackID) {
				s.ann(0, 1, acq, sema(wire.OpAcquire, 1, 1, 0, 0))
				for i := range 5 {
					s.ann(1, parse.GoID(10+i), acq, sema(wire.OpWait, 0, 1, int64(i+1), 0))
				}
				for i := range 5 {
					s.ann(30, parse.GoID(10+i), acq, sema(wire.OpCancel, 0, 1, 0, 0))
				}
			},
			want: map[string]int64{"max_depth": 5, "cancels": 5, "waits": 5, "grants": 1, "waiting_at_end": 0, "above_depth_ns": int64(29 * time.Millisecond)},
		},
		{
			// A request larger than the semaphore waits outside the
			// queue (depth=0) until its context is done.
			name: "oversized requests are not queued",
			build: func(s *sqStream, acq, rel parse.StackID) {
				for i := range 5 {
					s.ann(1, parse.GoID(10+i), acq, sema(wire.OpWait, 0, 100, 0, 0))
					s.ann(50, parse.GoID(10+i), acq, sema(wire.OpCancel, 0, 100, 0, 0))
				}
			},
		},
		{
			name: "still waiting at the end",
			build: func(s *sqStream, acq, rel parse.StackID) {
				s.ann(0, 1, acq, sema(wire.OpAcquire, 1, 1, 0, 0))
				for i := range 4 {
					s.ann(1, parse.GoID(10+i), acq, sema(wire.OpWait, 0, 2, int64(i+1), 0))
				}
			},
			want: map[string]int64{"max_depth": 4, "max_weight": 8, "waiting_at_end": 4, "wait_max_ns": int64(99 * time.Millisecond)},
			msg:  "4 goroutines still waiting at trace end",
		},
		{
			name: "failed TryAcquires are not waits",
			build: func(s *sqStream, acq, rel parse.StackID) {
				s.ann(0, 1, acq, sema(wire.OpAcquire, 1, 1, 0, 0))
				for i := range 20 {
					s.ann(1+float64(i), parse.GoID(10+i), acq, sema(wire.OpCancel, 0, 1, 0, 0))
				}
			},
		},
		{
			name: "named",
			build: func(s *sqStream, acq, rel parse.StackID) {
				s.ann(0, 1, acq, wire.Event{Kind: wire.KindSemaphore, Object: 3, Op: wire.OpName, Key: "db"})
				s.ann(0, 1, acq, sema(wire.OpAcquire, 1, 1, 0, 0))
				for i := range 3 {
					s.ann(1, parse.GoID(10+i), acq, sema(wire.OpWait, 0, 1, int64(i+1), 0))
				}
			},
			want: map[string]int64{"max_depth": 3},
			msg:  `Semaphore#3 "db" queue built up to 3 waiters (weight 3)`,
		},
		{
			// x/sync: a wait ended by a timer or a context's cancel is
			// not a grant.
			name: "stock waits ended by a context",
			build: func(s *sqStream, _, _ parse.StackID) {
				block := s.st.add(sqLib("runtime.selectgo"), sqLib(semaXSync+"Acquire"), sqUser(40))
				cancel := s.st.add(sqLib("context.(*cancelCtx).cancel"), sqUser(60))
				for i := range 4 {
					s.block(1, parse.GoID(10+i), parse.ReasonSelect, block)
				}
				s.wake(30, 10, parse.NoGoroutine, parse.NoStack)
				for i := 1; i < 4; i++ {
					s.wake(31, parse.GoID(10+i), 1, cancel)
				}
			},
			want: map[string]int64{"max_depth": 4, "cancels": 4, "grants": 0, "waits": 4},
			msg:  "x/sync semaphore waiters at main.go:40",
		},
		{
			// x/sync: mutex contention inside Acquire is not a
			// semaphore wait.
			name: "stock mutex waits are not queued",
			build: func(s *sqStream, _, _ parse.StackID) {
				lock := s.st.add(sqLib("sync.(*Mutex).Lock"), sqLib(semaXSync+"Acquire"), sqUser(40))
				for i := range 10 {
					s.block(1, parse.GoID(10+i), parse.ReasonSync, lock)
					s.wake(30, parse.GoID(10+i), 1, lock)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s sqStream
			acq := s.st.add(sqLib(semaPrim+"emit"), sqLib(semaPrim+"Acquire"), sqUser(20))
			rel := s.st.add(sqLib(semaPrim+"emit"), sqLib(semaPrim+"Release"), sqUser(25))
			tt.build(&s, acq, rel)
			fs := s.run(newSemaQueue(opts), 100)
			if tt.want == nil {
				if len(fs) != 0 {
					t.Fatalf("findings = %d (%s); want none", len(fs), fs[0].Message)
				}
				return
			}
			if len(fs) != 1 {
				t.Fatalf("findings = %d; want 1", len(fs))
			}
			for k, v := range tt.want {
				if got := fs[0].Stats[k]; got != v {
					t.Errorf("stats[%q] = %d; want %d (message: %s)", k, got, v, fs[0].Message)
				}
			}
			if !strings.Contains(fs[0].Message, tt.msg) {
				t.Errorf("message = %q; want it to contain %q", fs[0].Message, tt.msg)
			}
		})
	}
}

func TestDurDist(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		f       func(i int) time.Duration
		p       float64
		want    time.Duration
		relErr  float64
		wantMax time.Duration
	}{
		{"empty", 0, nil, 50, 0, 0, 0},
		{"one", 1, func(int) time.Duration { return 7 }, 99, 7, 0, 7},
		{"exact p50", 100, func(i int) time.Duration { return time.Duration(i+1) * time.Millisecond }, 50, 50 * time.Millisecond, 0, 100 * time.Millisecond},
		{"exact p99", 100, func(i int) time.Duration { return time.Duration(i+1) * time.Millisecond }, 99, 99 * time.Millisecond, 0, 100 * time.Millisecond},
		{"bucketed p50", 10000, func(i int) time.Duration { return time.Duration(i+1) * time.Microsecond }, 50, 5000 * time.Microsecond, 1.0 / 16, 10000 * time.Microsecond},
		{"bucketed p99", 10000, func(i int) time.Duration { return time.Duration(10000-i) * time.Microsecond }, 99, 9900 * time.Microsecond, 1.0 / 16, 10000 * time.Microsecond},
		{"bucketed small", 5000, func(i int) time.Duration { return time.Duration(i % 20) }, 50, 9, 0, 19},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d durDist
			for i := range tt.n {
				d.add(tt.f(i))
			}
			got := d.percentile(tt.p)
			if diff := math.Abs(float64(got-tt.want)) / math.Max(float64(tt.want), 1); diff > tt.relErr {
				t.Errorf("percentile(%v) = %v; want %v (within %.1f%%)", tt.p, got, tt.want, tt.relErr*100)
			}
			if d.max != tt.wantMax || d.n != tt.n {
				t.Errorf("max, n = %v, %d; want %v, %d", d.max, d.n, tt.wantMax, tt.n)
			}
		})
	}
}

func TestLevelSeries(t *testing.T) {
	var s levelSeries
	s.start(0)
	// A level that rises by one every millisecond for a second, then
	// falls back to zero at once.
	for i := 1; i <= 1000; i++ {
		s.set(sqMs(float64(i)), int64(i))
	}
	s.set(sqMs(1200), 0)
	if len(s.b) > seriesBuckets {
		t.Fatalf("buckets = %d; want at most %d", len(s.b), seriesBuckets)
	}
	got := s.maxima(4, sqMs(2000))
	want := []int64{500, 1000, 1000, 0}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 40 { // bucket precision: 2000 ms / 64 buckets
			t.Errorf("maxima(4)[%d] = %d; want %d ± 40 (all: %v)", i, got[i], want[i], got)
		}
	}
	for _, tt := range []struct {
		ms   float64
		want int64
	}{{250, 250}, {900, 900}, {1100, 1000}, {1700, 0}, {5000, 0}} {
		if got := s.at(sqMs(tt.ms)); math.Abs(float64(got-tt.want)) > 40 {
			t.Errorf("at(%vms) = %d; want %d ± 40", tt.ms, got, tt.want)
		}
	}
}

// recordTrace runs f under an execution trace and feeds the trace to the
// consumers (analyzers, mostly), in one pass.
func recordTrace(t *testing.T, f func(), consumers ...parse.Consumer) {
	t.Helper()
	if trace.IsEnabled() {
		t.Skip("a trace is already being recorded")
	}
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Fatalf("trace.Start: %v", err)
	}
	func() {
		defer trace.Stop() // also if f fails the test
		f()
	}()
	if _, err := parse.Parse(&buf, parse.Options{DropBlocks: true}, consumers...); err != nil {
		t.Fatalf("parse.Parse: %v", err)
	}
}

// callerLine returns the line of its caller's call.
func callerLine() int {
	_, _, line, _ := runtime.Caller(1)
	return line
}

// weighted is what the backlog scenario needs of a semaphore: both
// x/sync's and ours have it.
type weighted interface {
	Acquire(ctx context.Context, n int64) error
	Release(n int64)
}

// semaBacklog runs the backlog scenario on a semaphore of 2: 60 requests
// arrive 1 ms apart, and the holders are let go one every fourth arrival,
// so the queue grows by three waiters in four arrivals whatever the
// machine's speed. Before the next arrival, every goroutine of the
// scenario is parked (waiting in Acquire, or holding until let go): each
// request is its own arrival, and none is granted without waiting but the
// first two. It returns the line of the Acquire.
func semaBacklog(t *testing.T, sem weighted) (line int) {
	var wg sync.WaitGroup
	let := make(chan struct{})
	released := 0
	line = callerLine() + 3
	for i := range 60 {
		wg.Go(func() {
			if err := sem.Acquire(context.Background(), 1); err != nil {
				return
			}
			<-let
			sem.Release(1)
		})
		if i%4 == 3 {
			let <- struct{}{}
			released++
		}
		tracetest.WaitFor(t, i+1-released, "parked in the backlog", func(g tracetest.Goroutine) bool {
			return g.Parked() && strings.Contains(g.Stack, "detect.semaBacklog.func")
		})
		time.Sleep(time.Millisecond)
	}
	close(let)
	wg.Wait()
	return line
}

// TestSemaphoreQueueEvidence runs the backlog on primitives/semaphore and
// reads the one trace both ways: from the annotations (exact) and, as if
// it were x/sync's, from the runtime's events alone (per call site). The
// runtime's waits are each inside the annotated wait, so they can only
// be shorter; none is missed, as every waiter parks before the next
// request comes.
func TestSemaphoreQueueEvidence(t *testing.T) {
	defer func(a, g []string) { semaAcquireFuncs, semaGrantFuncs = a, g }(semaAcquireFuncs, semaGrantFuncs)
	semaAcquireFuncs = append(slices.Clone(semaAcquireFuncs), semaPrim+"Acquire")
	semaGrantFuncs = append(slices.Clone(semaGrantFuncs), semaPrim+"Release", semaPrim+"notifyWaiters")

	q := newSemaQueue(DefaultSemaphoreOptions())
	var line int
	recordTrace(t, func() { line = semaBacklog(t, semaphore.NewWeighted(2)) }, q)
	fs := q.Findings()
	if len(fs) != 2 {
		for _, f := range fs {
			t.Log(f.Message)
		}
		t.Fatalf("findings = %d; want 2: the annotated semaphore and its call site", len(fs))
	}
	var exact, virtual Finding
	for _, f := range fs {
		switch f.Confidence {
		case ConfidenceExact:
			exact = f
		case ConfidencePerCallSite:
			virtual = f
		}
	}
	if exact.Kind == "" || virtual.Kind == "" {
		t.Fatalf("confidences = %q, %q; want one exact, one per-call-site", fs[0].Confidence, fs[1].Confidence)
	}
	for _, f := range fs {
		if f.Location.Line != line || !strings.HasSuffix(f.Location.File, "semaphore_test.go") {
			t.Errorf("%s finding at %v; want semaphore_test.go:%d", f.Confidence, f.Location, line)
		}
	}
	e, v := exact.Stats, virtual.Stats
	// Every request but the first two parked in Acquire before the next
	// one came, so both evidences see every wait.
	if v["waits"] != 58 || e["waits"] != 58 {
		t.Errorf("waits: runtime %d, annotations %d; want 58 each", v["waits"], e["waits"])
	}
	if v["wait_max_ns"] > e["wait_max_ns"] || v["wait_max_ns"] < e["wait_max_ns"]/2 {
		t.Errorf("longest wait: runtime %v, annotations %v; want the runtime's no longer, and at least half", time.Duration(v["wait_max_ns"]), time.Duration(e["wait_max_ns"]))
	}
	if d := v["max_depth"] - e["max_depth"]; d > 3 || d < -max(3, e["max_depth"]/5) {
		t.Errorf("max depth: runtime %d, annotations %d; want them within 20%%", v["max_depth"], e["max_depth"])
	}
	if e["grants"] != 60 || e["arrivals"] != 60 {
		t.Errorf("annotations: grants %d, arrivals %d; want 60, 60", e["grants"], e["arrivals"])
	}
}

// TestSemaphoreQueueStock runs the backlog on x/sync's semaphore: the
// trace alone shows it, at the Acquire line.
func TestSemaphoreQueueStock(t *testing.T) {
	q := newSemaQueue(DefaultSemaphoreOptions())
	var line int
	recordTrace(t, func() { line = semaBacklog(t, xsemaphore.NewWeighted(2)) }, q)
	fs := q.Findings()
	if len(fs) != 1 {
		t.Fatalf("findings = %d; want 1", len(fs))
	}
	f := fs[0]
	if f.Confidence != ConfidencePerCallSite || f.Evidence != EvidenceRuntime || f.Location.Line != line {
		t.Errorf("finding = %s, %s at %v; want per-call-site, runtime at line %d", f.Confidence, f.Evidence, f.Location, line)
	}
	if f.Stats["max_depth"] < 8 || f.Stats["grants"] == 0 {
		t.Errorf("stats = %v; want max_depth ≥ 8 and grants", f.Stats)
	}
}

// semaBurst starts n goroutines in one loop, each acquiring the semaphore
// once and holding it hold; with loops > 1, each acquires loops times.
func semaBurst(sem weighted, n, loops int, hold time.Duration) {
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for range loops {
				if err := sem.Acquire(context.Background(), 1); err != nil {
					return
				}
				time.Sleep(hold)
				sem.Release(1)
			}
		})
	}
	wg.Wait()
}

// TestSemaphoreQueuePerTest checks that the waiters of two tests at one
// x/sync Acquire line are two findings, each naming its test.
func TestSemaphoreQueuePerTest(t *testing.T) {
	var s sqStream
	semaSim{s: &s, obj: 7, size: 2, stock: true, acqLine: 20, relLine: 25, oneBatch: true}.run(every(0, 0, 40), 2)
	q := newSemaQueue(DefaultSemaphoreOptions())
	for i := range 40 {
		q.tests.Set(parse.GoID(100+i), []string{"TestA", "TestB"}[i/20])
	}
	fs := s.run(q, 1000)
	if len(fs) != 2 {
		for _, f := range fs {
			t.Logf("%s", f.Message)
		}
		t.Fatalf("findings = %d; want 2, one per test", len(fs))
	}
	for i, want := range []string{"TestA", "TestB"} {
		if f := fs[i]; f.Test != want || !strings.Contains(f.Message, "; in "+want) || f.Location.Line != 20 {
			t.Errorf("finding %d: test %q at %v: %s; want test %s at line 20", i, f.Test, f.Location, f.Message, want)
		}
	}
}

// TestSemaphoreQueueLoopingSource checks that goroutines that loop
// Acquire/Release, started by one loop, are one source of arrivals: a
// burst, not work that keeps coming.
func TestSemaphoreQueueLoopingSource(t *testing.T) {
	q := newSemaQueue(DefaultSemaphoreOptions())
	recordTrace(t, func() { semaBurst(xsemaphore.NewWeighted(2), 12, 6, 3*time.Millisecond) }, q)
	fs := q.Findings()
	if len(fs) != 1 {
		t.Fatalf("findings = %d; want 1", len(fs))
	}
	if f := fs[0]; f.Cause != "burst" || f.Severity != SeverityInfo {
		t.Errorf("finding %s %s: %s; want an info burst", f.Severity, f.Cause, f.Message)
	}
}
