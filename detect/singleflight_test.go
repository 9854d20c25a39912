package detect

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	xsingleflight "golang.org/x/sync/singleflight"

	"github.com/blockscope/blockscope/internal/tracetest"
	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
	"github.com/blockscope/blockscope/primitives/singleflight"
)

// The stacks of singleflight's operations.
const (
	sfPrim  = parse.PrimitivesPath + "singleflight.(*Group)."
	sfXSync = "golang.org/x/sync/singleflight.(*Group)."
)

// sfSyn writes synthetic singleflight events.
type sfSyn struct {
	s *sqStream
	// Annotation stacks: Do at doLine, DoChan at chanLine.
	do, doChan parse.StackID
	// x/sync stacks: a follower blocked in Do at doLine, a leader waking
	// its followers from doCall (Do at leadLine).
	block, waker parse.StackID
}

const (
	sfDoLine   = 30
	sfChanLine = 32
	sfLeadLine = 34
)

func newSFSyn(s *sqStream) *sfSyn {
	return &sfSyn{
		s:      s,
		do:     s.st.add(sqLib(sfPrim+"emit"), sqLib(sfPrim+"Do"), sqUser(sfDoLine)),
		doChan: s.st.add(sqLib(sfPrim+"emit"), sqLib(sfPrim+"DoChan"), sqUser(sfChanLine)),
		block: s.st.add(sqLib("runtime.gopark"), sqLib("sync.runtime_SemacquireWaitGroup"), sqLib("sync.(*WaitGroup).Wait"),
			sqLib(sfXSync+"Do"), sqUser(sfDoLine)),
		waker: s.st.add(sqLib("sync.(*WaitGroup).Add"), sqLib("sync.(*WaitGroup).Done"), sqLib(sfXSync+"doCall.func1"),
			sqLib(sfXSync+"doCall"), sqLib(sfXSync+"Do"), sqUser(sfLeadLine)),
	}
}

func (y *sfSyn) ann(ms float64, g parse.GoID, stack parse.StackID, op wire.Op, flight uint64, n, depth int64, key string) {
	y.s.ann(ms, g, stack, wire.Event{Kind: wire.KindSingleflight, Object: 4, Op: op, Seq: flight, N: n, Depth: depth, Key: key})
}

// flight writes an annotated flight of key: leader g leads at start ms,
// followers (goroutines g+1, ...) join at the given times, the call
// returns at ret ms and the followers wake just after.
func (y *sfSyn) flight(flight uint64, key string, g parse.GoID, start float64, joins []float64, ret float64) {
	y.ann(start, g, y.do, wire.OpLead, flight, 0, 0, key)
	for i, at := range joins {
		y.ann(at, g+1+parse.GoID(i), y.do, wire.OpFollow, flight, 0, int64(i+1), key)
	}
	y.ann(ret, g, y.do, wire.OpReturn, flight, int64(len(joins)), 0, key)
	for i := range joins {
		y.ann(ret+0.01, g+1+parse.GoID(i), y.do, wire.OpWake, flight, 0, 0, "")
	}
}

// stockFlight writes an x/sync flight: followers g+1, ... block at the
// given times and leader g wakes them at ret ms.
func (y *sfSyn) stockFlight(g parse.GoID, joins []float64, ret float64) {
	for i, at := range joins {
		y.s.block(at, g+1+parse.GoID(i), parse.ReasonSync, y.block)
	}
	for i := range joins {
		y.s.wake(ret+0.01*float64(i), g+1+parse.GoID(i), g, y.waker)
	}
}

func TestSingleflightFanInSynthetic(t *testing.T) {
	opts := DefaultSingleflightOptions()
	tests := []struct {
		name  string
		build func(y *sfSyn)
		want  []map[string]int64 // stats of each finding, in order
		msgs  []string           // a substring of each finding's message
		lines []int              // each finding's line
		sev   []Severity
	}{
		{
			name:  "herd",
			build: func(y *sfSyn) { y.flight(1, "user:42", 1, 0, every(1, 0.5, 12), 30) },
			want:  []map[string]int64{{"max_fanin": 12, "suppressed": 12, "flights": 1, "flagged_flights": 1, "leader_max_ns": int64(30 * time.Millisecond)}},
			msgs:  []string{`singleflight.Group#4 key "user:42": a flight had 12 followers waiting up to 29.01ms on its leader (goroutine 1 at main.go:30, call took 30ms)`},
			lines: []int{sfDoLine},
			sev:   []Severity{SeverityInfo}, // a big herd, short waits
		},
		{
			name:  "small fan-in, short waits",
			build: func(y *sfSyn) { y.flight(1, "k", 1, 0, every(1, 0.5, 2), 5) },
		},
		{
			name:  "one follower waiting long",
			build: func(y *sfSyn) { y.flight(1, "k", 1, 0, []float64{1}, 61) },
			want:  []map[string]int64{{"max_fanin": 1, "wait_max_ns": int64(60010 * time.Microsecond)}},
			msgs:  []string{"a flight had 1 follower waiting up to 60.01ms"},
			lines: []int{sfDoLine},
			sev:   []Severity{SeverityWarning},
		},
		{
			name: "one herd among flights and keys",
			build: func(y *sfSyn) {
				y.flight(1, "a", 1, 0, every(1, 0.1, 2), 3)
				y.flight(2, "b", 10, 0, every(1, 0.1, 3), 3)
				y.flight(3, "a", 20, 10, every(11, 0.1, 15), 20)
				y.flight(4, "a", 40, 30, every(31, 0.1, 1), 33)
			},
			want:  []map[string]int64{{"flights": 3, "flagged_flights": 1, "suppressed": 18, "max_fanin": 15}},
			msgs:  []string{`key "a": a flight had 15 followers`},
			lines: []int{sfDoLine},
			sev:   []Severity{SeverityInfo}, // a big herd, short waits
		},
		{
			// DoChan followers do not wait in place: they wait for the
			// result until the call returns.
			name: "DoChan followers",
			build: func(y *sfSyn) {
				y.ann(0, 1, y.do, wire.OpLead, 1, 0, 0, "k")
				y.ann(1, 2, y.doChan, wire.OpFollow, 1, 0, 1, "k")
				y.ann(2, 3, y.doChan, wire.OpFollow, 1, 0, 2, "k")
				y.ann(80, 1, y.do, wire.OpReturn, 1, 2, 0, "k")
			},
			want:  []map[string]int64{{"max_fanin": 2, "wait_max_ns": int64(79 * time.Millisecond)}},
			lines: []int{sfChanLine},
			sev:   []Severity{SeverityWarning},
		},
		{
			name: "flight begun before the trace",
			build: func(y *sfSyn) {
				for i := range 12 {
					y.ann(1, parse.GoID(10+i), y.do, wire.OpFollow, 5, 0, int64(i+1), "k")
				}
				y.ann(10, 9, y.do, wire.OpReturn, 5, 12, 0, "k")
				for i := range 12 {
					y.ann(10.1, parse.GoID(10+i), y.do, wire.OpWake, 5, 0, 0, "")
				}
			},
			want: []map[string]int64{{"max_fanin": 12, "suppressed": 12}},
			msgs: []string{"a flight had 12 followers waiting up to 9.1ms on its leader;"},
			sev:  []Severity{SeverityInfo}, // a big herd, short waits
		},
		{
			name: "stalled: leader blocked",
			build: func(y *sfSyn) {
				y.ann(0, 1, y.do, wire.OpLead, 1, 0, 0, "k")
				y.s.block(2, 1, parse.ReasonChanReceive, y.s.st.add(sqLib("runtime.chanrecv1"), sqUser(40), sqLib(sfPrim+"doCall"), sqUser(sfDoLine)))
				for i := range 3 {
					y.ann(5, parse.GoID(2+i), y.do, wire.OpFollow, 1, 0, int64(i+1), "k")
				}
			},
			want:  []map[string]int64{{"followers_waiting": 3, "leader_ns": int64(100 * time.Millisecond)}},
			msgs:  []string{`flight stalled: its leader, goroutine 1, is blocked on chan receive at main.go:40 after 100ms, and 3 followers wait in Do at main.go:30 for up to 95ms`},
			lines: []int{40},
			sev:   []Severity{SeverityError},
		},
		{
			name: "stalled: leader running",
			build: func(y *sfSyn) {
				y.ann(0, 1, y.do, wire.OpLead, 1, 0, 0, "k")
				y.ann(5, 2, y.do, wire.OpFollow, 1, 0, 1, "k")
			},
			want:  []map[string]int64{{"followers_waiting": 1}},
			msgs:  []string{"its leader, goroutine 1, is still running after 100ms"},
			lines: []int{sfDoLine},
			sev:   []Severity{SeverityError},
		},
		{
			name: "stalled: leader exited",
			build: func(y *sfSyn) {
				y.ann(0, 1, y.do, wire.OpLead, 1, 0, 0, "k")
				y.ann(5, 2, y.do, wire.OpFollow, 1, 0, 1, "k")
				y.s.exit(6, 1)
			},
			msgs:  []string{"its leader, goroutine 1, exited without returning"},
			lines: []int{sfDoLine},
			sev:   []Severity{SeverityError},
		},
		{
			name: "in flight at the end, not yet stalled",
			build: func(y *sfSyn) {
				y.ann(0, 1, y.do, wire.OpLead, 1, 0, 0, "k")
				y.ann(90, 2, y.do, wire.OpFollow, 1, 0, 1, "k")
			},
		},
		{
			name:  "stock herd",
			build: func(y *sfSyn) { y.stockFlight(1, every(1, 0.5, 12), 30) },
			want:  []map[string]int64{{"max_fanin": 12, "suppressed": 12, "flights": 1, "leader_max_ns": int64(29 * time.Millisecond)}},
			msgs:  []string{"x/sync singleflight followers at main.go:30 (grouped by Do call site): a flight had 12 followers waiting up to 29ms on its leader (goroutine 1 at main.go:34, call took at least 29ms)"},
			lines: []int{sfDoLine},
			sev:   []Severity{SeverityInfo}, // a big herd, short waits
		},
		{
			// The same leader runs two flights: the followers of the
			// second blocked after the first was over.
			name: "stock flights of one leader",
			build: func(y *sfSyn) {
				y.stockFlight(1, every(1, 0.1, 3), 5)
				y.stockFlight(1, every(10, 0.1, 11), 20)
				y.stockFlight(1, every(30, 0.1, 2), 33)
			},
			want: []map[string]int64{{"flights": 3, "flagged_flights": 1, "max_fanin": 11, "suppressed": 16}},
			sev:  []Severity{SeverityInfo}, // a big herd, short waits
		},
		{
			name: "stock mutex waits are not followers",
			build: func(y *sfSyn) {
				lock := y.s.st.add(sqLib("sync.(*Mutex).Lock"), sqLib(sfXSync+"Do"), sqUser(sfDoLine))
				for i := range 12 {
					y.s.block(1, parse.GoID(10+i), parse.ReasonSync, lock)
					y.s.wake(70, parse.GoID(10+i), 1, y.waker)
				}
			},
		},
		{
			name: "stock stalled",
			build: func(y *sfSyn) {
				leader := y.s.st.add(sqLib("runtime.selectgo"), sqUser(50), sqLib(sfXSync+"doCall.func2"), sqLib(sfXSync+"doCall"), sqLib(sfXSync+"Do"), sqUser(sfDoLine))
				other := y.s.st.add(sqLib("runtime.selectgo"), sqUser(60), sqLib(sfXSync+"doCall.func2"), sqLib(sfXSync+"doCall"), sqLib(sfXSync+"Do"), sqUser(70))
				y.s.block(1, 1, parse.ReasonSelect, leader)
				y.s.block(1, 9, parse.ReasonSelect, other)
				for i := range 4 {
					y.s.block(2, parse.GoID(2+i), parse.ReasonSync, y.block)
				}
			},
			want:  []map[string]int64{{"followers_waiting": 4}},
			msgs:  []string{"x/sync singleflight followers at main.go:30 (grouped by Do call site): flight stalled: its leader, goroutine 1, is blocked on select at main.go:50, and 4 followers wait in Do at main.go:30 for up to 98ms"},
			lines: []int{50},
			sev:   []Severity{SeverityError},
		},
		{
			name: "stock stalled, leader unknown",
			build: func(y *sfSyn) {
				for i := range 4 {
					y.s.block(2, parse.GoID(2+i), parse.ReasonSync, y.block)
				}
			},
			msgs:  []string{"no blocked leader was found (it may be running)"},
			lines: []int{sfDoLine},
			sev:   []Severity{SeverityError},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s sqStream
			tt.build(newSFSyn(&s))
			fs := s.run(newSFFanIn(opts), 100)
			n := max(len(tt.want), len(tt.msgs), len(tt.sev))
			if len(fs) != n {
				for _, f := range fs {
					t.Log(f.Message)
				}
				t.Fatalf("findings = %d; want %d", len(fs), n)
			}
			for i, f := range fs {
				if i < len(tt.want) {
					for k, v := range tt.want[i] {
						if f.Stats[k] != v {
							t.Errorf("finding %d: stats[%q] = %d; want %d (message: %s)", i, k, f.Stats[k], v, f.Message)
						}
					}
				}
				if i < len(tt.msgs) && !strings.Contains(f.Message, tt.msgs[i]) {
					t.Errorf("finding %d: message = %q; want it to contain %q", i, f.Message, tt.msgs[i])
				}
				if i < len(tt.lines) && f.Location.Line != tt.lines[i] {
					t.Errorf("finding %d: location = %v; want line %d", i, f.Location, tt.lines[i])
				}
				if i < len(tt.sev) && f.Severity != tt.sev[i] {
					t.Errorf("finding %d: severity = %s; want %s", i, f.Severity, tt.sev[i])
				}
				if f.Kind != "singleflight-fanin" || len(f.Goroutines) == 0 {
					t.Errorf("finding %d: kind %q, goroutines %v; want singleflight-fanin with goroutines", i, f.Kind, f.Goroutines)
				}
			}
		})
	}
}

// doer is what the herd scenario needs of a singleflight Group.
type doer interface {
	Do(key string, fn func() (any, error)) (any, error, bool)
}

// sfHerd runs the herd scenario: 20 calls for one key, whose load takes
// 40 ms once the other 19 wait for it (parked in Do), so that every one
// joins the one flight whatever the machine's speed. It returns the line
// of the Do.
func sfHerd(t *testing.T, g doer) (line int) {
	load := func() (any, error) {
		tracetest.WaitParked(t, 19, "singleflight.(*Group).Do(", "sync.WaitGroup.Wait")
		time.Sleep(40 * time.Millisecond)
		return nil, nil
	}
	var wg sync.WaitGroup
	line = callerLine() + 3
	for range 20 {
		wg.Go(func() {
			g.Do("k", load)
		})
	}
	wg.Wait()
	return line
}

// TestSingleflightFanInEvidence runs the herd on primitives/singleflight
// and reads the one trace both ways: from the annotations (exact) and, as
// if it were x/sync's, from the runtime's events alone (per call site).
func TestSingleflightFanInEvidence(t *testing.T) {
	defer func(d, c []string) { sfDoFuncs, sfDoCallFuncs = d, c }(sfDoFuncs, sfDoCallFuncs)
	sfDoFuncs = append(slices.Clone(sfDoFuncs), sfPrim+"Do")
	sfDoCallFuncs = append(slices.Clone(sfDoCallFuncs), sfPrim+"doCall")

	a := newSFFanIn(DefaultSingleflightOptions())
	var line int
	recordTrace(t, func() { line = sfHerd(t, new(singleflight.Group)) }, a)
	fs := a.Findings()
	if len(fs) != 2 {
		for _, f := range fs {
			t.Log(f.Message)
		}
		t.Fatalf("findings = %d; want 2: the annotated group and its call site", len(fs))
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
		if f.Location.Line != line || !strings.HasSuffix(f.Location.File, "singleflight_test.go") {
			t.Errorf("%s finding at %v; want singleflight_test.go:%d", f.Confidence, f.Location, line)
		}
	}
	e, v := exact.Stats, virtual.Stats
	// Every call but the leader joins the one flight, and parks in it.
	if e["max_fanin"] != 19 || e["flights"] != 1 {
		t.Errorf("annotations: fan-in %d in %d flights; want 19 in 1", e["max_fanin"], e["flights"])
	}
	if v["max_fanin"] != e["max_fanin"] {
		t.Errorf("fan-in: runtime %d, annotations %d; want the same", v["max_fanin"], e["max_fanin"])
	}
	// Each runtime wait (block to wake) lies inside its annotated one
	// (follow to wake). The runtime's leader duration runs from the first
	// follower's block to the first wake: it spans the 40 ms load, which
	// began once every follower had blocked, and lies inside the first
	// follower's annotated wait.
	if v["wait_max_ns"] > e["wait_max_ns"] {
		t.Errorf("longest wait: runtime %v, annotations %v; want the runtime's no longer", time.Duration(v["wait_max_ns"]), time.Duration(e["wait_max_ns"]))
	}
	if l := time.Duration(v["leader_max_ns"]); l < 40*time.Millisecond || l > time.Duration(e["wait_max_ns"]) {
		t.Errorf("leader: runtime %v; want at least the load's 40ms and at most the longest annotated wait, %v", l, time.Duration(e["wait_max_ns"]))
	}
	// The leader is listed first.
	if exact.Goroutines[0] != virtual.Goroutines[0] {
		t.Errorf("leader: annotations say goroutine %d, runtime %d; want the same", exact.Goroutines[0], virtual.Goroutines[0])
	}
}

// TestSingleflightFanInStock runs the herd on x/sync's singleflight: the
// trace alone shows it, at the Do line.
func TestSingleflightFanInStock(t *testing.T) {
	a := newSFFanIn(DefaultSingleflightOptions())
	var line int
	recordTrace(t, func() { line = sfHerd(t, new(xsingleflight.Group)) }, a)
	fs := a.Findings()
	if len(fs) != 1 {
		t.Fatalf("findings = %d; want 1", len(fs))
	}
	f := fs[0]
	if f.Confidence != ConfidencePerCallSite || f.Evidence != EvidenceRuntime || f.Location.Line != line {
		t.Errorf("finding = %s, %s at %v; want per-call-site, runtime at line %d", f.Confidence, f.Evidence, f.Location, line)
	}
	if f.Stats["max_fanin"] != 19 {
		t.Errorf("max_fanin = %d; want 19", f.Stats["max_fanin"])
	}
}
