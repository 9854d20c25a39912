package detect

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
)

// lkStacks is a synthetic stack table for the lock detectors' tests.
type lkStacks struct{ stacks [][]parse.Frame }

func (s *lkStacks) add(frames ...parse.Frame) parse.StackID {
	s.stacks = append(s.stacks, frames)
	return parse.StackID(len(s.stacks))
}

func (s *lkStacks) Depth(id parse.StackID) int {
	if id <= 0 || int(id) > len(s.stacks) {
		return 0
	}
	return len(s.stacks[id-1])
}

func (s *lkStacks) Frame(id parse.StackID, i int) parse.Frame { return s.stacks[id-1][i] }

func (s *lkStacks) Frames(id parse.StackID) []parse.Frame {
	if s.Depth(id) == 0 {
		return nil
	}
	return slices.Clone(s.stacks[id-1])
}

func (s *lkStacks) Location(id parse.StackID) (parse.Frame, bool) {
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

// lkUser is a frame of the user's code at main.go:line.
func lkUser(line int) parse.Frame {
	return parse.Frame{Func: "example.com/app.work", File: "example.com/app/main.go", Line: line}
}

// lkLib is a frame of a library function.
func lkLib(fn string) parse.Frame {
	return parse.Frame{Func: fn, File: "lib.go", Line: 1}
}

// lkPrim is the frames a primitive's annotation is written under.
func lkPrim(method string, line int) []parse.Frame {
	return []parse.Frame{
		lkLib(parse.PrimitivesPath + "sync.lockEvent"),
		lkLib(parse.PrimitivesPath + "sync." + method),
		lkUser(line),
	}
}

// lkMs converts milliseconds to a trace time.
func lkMs(ms float64) parse.Time { return parse.Time(math.Round(ms * float64(time.Millisecond))) }

// lkTrace builds synthetic event streams.
type lkTrace struct {
	st  lkStacks
	evs []parse.Event
}

// ann appends an annotation of goroutine g at ms, written under a
// primitive's method called at the user's line.
func (b *lkTrace) ann(ms float64, g parse.GoID, line int, kind wire.Kind, obj wire.ObjectID, op wire.Op, seq uint64, n int64) {
	method := "(*Mutex).Lock"
	if op == wire.OpUnlock || op == wire.OpRUnlock {
		method = "(*Mutex).Unlock"
	}
	b.evs = append(b.evs, parse.Event{
		Kind: parse.EvAnnotation, Time: lkMs(ms), G: g, Peer: parse.NoGoroutine,
		Stack:      b.st.add(lkPrim(method, line)...),
		Annotation: wire.Event{Kind: kind, Object: obj, Op: op, Seq: seq, N: n},
	})
}

// park appends a runtime block of g at ms under the given frames.
func (b *lkTrace) park(ms float64, g parse.GoID, frames ...parse.Frame) parse.StackID {
	s := b.st.add(frames...)
	b.evs = append(b.evs, parse.Event{Kind: parse.EvBlock, Time: lkMs(ms), G: g, Peer: parse.NoGoroutine, Reason: parse.ReasonSync, Stack: s})
	return s
}

// wake appends the wake of g's park (stack s, begun at from) by waker,
// whose stack has the given frames; g runs at once.
func (b *lkTrace) wake(ms float64, g parse.GoID, s parse.StackID, from float64, waker parse.GoID, frames ...parse.Frame) {
	ws := parse.NoStack
	if len(frames) > 0 {
		ws = b.st.add(frames...)
	}
	b.evs = append(b.evs, parse.Event{Kind: parse.EvWake, Time: lkMs(ms), G: g, Peer: waker, PeerStack: ws,
		Reason: parse.ReasonSync, Stack: s, Start: lkMs(from)},
		parse.Event{Kind: parse.EvRun, Time: lkMs(ms), G: g, Peer: parse.NoGoroutine})
}

// run feeds the stream to a fresh analyzer of the detector and returns
// its findings; the trace ends at endMs.
func (b *lkTrace) run(t *testing.T, d *Detector, cfg *Config, endMs float64) []Finding {
	t.Helper()
	if cfg == nil {
		cfg = DefaultConfig()
	}
	a := d.New(cfg)
	switch x := a.(type) {
	case *mutexWait:
		x.stacks = &b.st
	case *lockOrder:
		x.stacks = &b.st
	default:
		t.Fatalf("analyzer %T has no stack table to set", a)
	}
	tr := &parse.Trace{End: int64(lkMs(endMs))}
	for i := range b.evs {
		a.Event(tr, &b.evs[i])
	}
	a.Finalize(tr)
	fs := a.Findings()
	Sort(fs)
	return fs
}

// lkWant is what a test expects of one finding; zero fields are not
// checked.
type lkWant struct {
	line       int
	severity   Severity
	confidence string
	evidence   Evidence
	msg        string // regexp
	goroutines []parse.GoID
	stats      map[string]int64
	related    map[string]string // role → "g@line", comma-separated if several
}

func lkCheck(t *testing.T, got []Finding, want []lkWant) {
	t.Helper()
	if len(got) != len(want) {
		for _, f := range got {
			t.Logf("got %s at %v: %s", f.Kind, f.Location, f.Message)
		}
		t.Fatalf("got %d findings; want %d", len(got), len(want))
	}
	for i, w := range want {
		f := got[i]
		if w.line != 0 && f.Location.Line != w.line {
			t.Errorf("finding %d: Location = %v; want line %d", i, f.Location, w.line)
		}
		if w.severity != "" && f.Severity != w.severity {
			t.Errorf("finding %d: Severity = %v; want %v", i, f.Severity, w.severity)
		}
		if w.confidence != "" && f.Confidence != w.confidence {
			t.Errorf("finding %d: Confidence = %q; want %q", i, f.Confidence, w.confidence)
		}
		if w.evidence != "" && f.Evidence != w.evidence {
			t.Errorf("finding %d: Evidence = %v; want %v", i, f.Evidence, w.evidence)
		}
		if w.msg != "" && !regexp.MustCompile(w.msg).MatchString(f.Message) {
			t.Errorf("finding %d: Message = %q; want match for %q", i, f.Message, w.msg)
		}
		if w.goroutines != nil && !slices.Equal(f.Goroutines, w.goroutines) {
			t.Errorf("finding %d: Goroutines = %v; want %v", i, f.Goroutines, w.goroutines)
		}
		for k, v := range w.stats {
			if got, ok := f.Stats[k]; !ok || got != v {
				t.Errorf("finding %d: Stats[%q] = %v (present %v); want %v", i, k, got, ok, v)
			}
		}
		for role, v := range w.related {
			var got []string
			for _, r := range f.Related {
				if r.Role == role {
					got = append(got, fmt.Sprintf("%d@%d", r.Goroutine, r.Location.Line))
				}
			}
			if strings.Join(got, ",") != v {
				t.Errorf("finding %d: Related[%q] = %v; want %q", i, role, got, v)
			}
		}
		if len(f.Stack) == 0 {
			t.Errorf("finding %d: no stack", i)
		}
	}
}

const (
	mu  = wire.KindMutex
	rw  = wire.KindRWMutex
	rmu = wire.KindReentrant
)

func ms(d float64) int64 { return int64(lkMs(d)) }

func TestMutexWaitAnnotated(t *testing.T) {
	tests := []struct {
		name  string
		build func(b *lkTrace)
		end   float64
		want  []lkWant
	}{{
		name: "long wait blamed on the holder",
		build: func(b *lkTrace) {
			b.ann(0, 1, 30, mu, 7, wire.OpName, 0, 0)
			b.evs[0].Annotation.Key = "cache"
			b.ann(0, 1, 30, mu, 7, wire.OpLock, 1, 0)
			b.ann(1, 2, 40, mu, 7, wire.OpWait, 0, 0)
			b.ann(6, 1, 33, mu, 7, wire.OpUnlock, 1, 0)
			b.ann(6.1, 2, 40, mu, 7, wire.OpLock, 2, 0)
			b.ann(6.2, 3, 50, mu, 7, wire.OpWait, 0, 0) // a short wait
			b.ann(6.3, 2, 41, mu, 7, wire.OpUnlock, 2, 0)
			b.ann(6.4, 3, 50, mu, 7, wire.OpLock, 3, 0)
			b.ann(6.5, 3, 51, mu, 7, wire.OpUnlock, 3, 0)
		},
		end: 10,
		want: []lkWant{{
			line: 40, severity: SeverityWarning, confidence: ConfidenceExact, evidence: EvidenceAnnotations,
			msg:        `^1 wait over 1ms for Mutex#7 "cache" at main.go:40 \(longest 5.1ms, .*\); held by goroutine 1, locked at main.go:30, unlocked at main.go:33 \(5ms of the 5.1ms waited\)$`,
			goroutines: []parse.GoID{2},
			stats:      map[string]int64{"waits": 2, "long_waits": 1, "max_ns": ms(5.1), "p50_ns": ms(5.1), "total_ns": ms(5.1), "blamed_ns": ms(5), "still_waiting": 0},
			related:    map[string]string{"holder": "1@30", "holder-unlock": "1@33"},
		}},
	}, {
		name: "waits at or under the threshold",
		build: func(b *lkTrace) {
			b.ann(0, 1, 30, mu, 7, wire.OpLock, 1, 0)
			b.ann(1, 2, 40, mu, 7, wire.OpWait, 0, 0)
			b.ann(2, 1, 33, mu, 7, wire.OpUnlock, 1, 0)
			b.ann(2, 2, 40, mu, 7, wire.OpLock, 2, 0) // exactly 1ms
			b.ann(2.5, 3, 40, mu, 7, wire.OpWait, 0, 0)
			b.ann(3, 2, 41, mu, 7, wire.OpUnlock, 2, 0)
			b.ann(3, 3, 40, mu, 7, wire.OpLock, 3, 0)
		},
		end: 10,
	}, {
		name: "waits only just over are info",
		build: func(b *lkTrace) {
			b.ann(0, 1, 30, mu, 7, wire.OpLock, 1, 0)
			b.ann(1, 2, 40, mu, 7, wire.OpWait, 0, 0)
			b.ann(2.5, 1, 33, mu, 7, wire.OpUnlock, 1, 0)
			b.ann(2.5, 2, 40, mu, 7, wire.OpLock, 2, 0)
		},
		end:  10,
		want: []lkWant{{line: 40, severity: SeverityInfo, stats: map[string]int64{"max_ns": ms(1.5)}}},
	}, {
		// Goroutine 1 takes the lock for 0.1ms every 1ms while
		// goroutine 2 waits 10ms: the lock was free nine tenths of it.
		name: "waits while the lock is mostly free are info",
		build: func(b *lkTrace) {
			b.ann(0.5, 2, 40, mu, 7, wire.OpWait, 0, 0)
			for i := range 10 {
				at := float64(i) + 0.6
				b.ann(at, 1, 30, mu, 7, wire.OpLock, uint64(i+1), 0)
				b.ann(at+0.1, 1, 33, mu, 7, wire.OpUnlock, uint64(i+1), 0)
			}
			b.ann(10.5, 2, 40, mu, 7, wire.OpLock, 11, 0)
		},
		end: 12,
		want: []lkWant{{
			line: 40, severity: SeverityInfo,
			msg:   `; the lock was held only 1ms of the 10ms waited$`,
			stats: map[string]int64{"max_ns": ms(10), "held_ns": ms(1)},
		}},
	}, {
		// Woken at 2.5ms, goroutine 2 gets a processor only at 9ms: of
		// its 8ms, 6.5 were scheduling delay, not lock wait.
		name: "time runnable is not lock wait",
		build: func(b *lkTrace) {
			b.ann(0, 1, 30, mu, 7, wire.OpLock, 1, 0)
			b.ann(1, 2, 40, mu, 7, wire.OpWait, 0, 0)
			b.ann(2.5, 1, 33, mu, 7, wire.OpUnlock, 1, 0)
			b.evs = append(b.evs,
				parse.Event{Kind: parse.EvWake, Time: lkMs(2.5), G: 2, Peer: 1, Reason: parse.ReasonChanReceive},
				parse.Event{Kind: parse.EvRun, Time: lkMs(9), G: 2, Peer: parse.NoGoroutine})
			b.ann(9, 2, 40, mu, 7, wire.OpLock, 2, 0)
		},
		end:  10,
		want: []lkWant{{line: 40, severity: SeverityInfo, stats: map[string]int64{"max_ns": ms(1.5)}}},
	}, {
		name: "next Lock read before the Unlock it follows",
		build: func(b *lkTrace) {
			b.ann(0, 1, 30, mu, 7, wire.OpLock, 1, 0)
			b.ann(1, 2, 40, mu, 7, wire.OpWait, 0, 0)
			b.ann(6, 2, 40, mu, 7, wire.OpLock, 2, 0)
			b.ann(6.001, 1, 33, mu, 7, wire.OpUnlock, 1, 0)
			b.ann(7, 2, 41, mu, 7, wire.OpUnlock, 2, 0)
		},
		end: 10,
		want: []lkWant{{
			line: 40, msg: `held by goroutine 1, locked at main.go:30, unlocked at main.go:33`,
			related: map[string]string{"holder": "1@30", "holder-unlock": "1@33"},
		}},
	}, {
		name: "Unlock by another goroutine read before its Lock",
		build: func(b *lkTrace) {
			b.ann(0, 2, 40, mu, 7, wire.OpWait, 0, 0)
			b.ann(4.99, 3, 60, mu, 7, wire.OpUnlock, 1, 0) // unlocks for goroutine 1...
			b.ann(5, 1, 30, mu, 7, wire.OpLock, 1, 0)      // ...whose Lock is read after it
			b.ann(5.1, 2, 40, mu, 7, wire.OpLock, 2, 0)
			b.ann(5.2, 2, 41, mu, 7, wire.OpUnlock, 2, 0)
		},
		end: 10,
		want: []lkWant{{
			line: 40, msg: `held by goroutine 1, locked at main.go:30, unlocked at main.go:60`,
			stats:   map[string]int64{"long_waits": 1, "max_ns": ms(5.1), "blamed_ns": ms(4.99)},
			related: map[string]string{"holder": "1@30", "holder-unlock": "3@60"},
		}},
	}, {
		name: "lock held since before the trace",
		build: func(b *lkTrace) {
			b.ann(1, 2, 40, mu, 7, wire.OpWait, 0, 0)
			b.ann(6, 9, 61, mu, 7, wire.OpUnlock, 4, 0)
			b.ann(6, 2, 40, mu, 7, wire.OpLock, 5, 0)
		},
		end: 10,
		want: []lkWant{{
			line: 40, msg: `held by a goroutine whose Lock the trace does not show, unlocked at main.go:61$`,
			related: map[string]string{"holder": "", "holder-unlock": "9@61"},
		}},
	}, {
		name: "waits spanning the trace end are not reported alone",
		build: func(b *lkTrace) {
			b.ann(0, 1, 30, mu, 7, wire.OpLock, 1, 0)
			b.ann(1, 2, 40, mu, 7, wire.OpWait, 0, 0)
			b.ann(0, 3, 30, mu, 8, wire.OpLock, 1, 0)
			b.ann(1, 4, 40, mu, 8, wire.OpWait, 0, 0)
			b.ann(1, 5, 40, mu, 8, wire.OpWait, 0, 0)
			b.ann(5, 3, 33, mu, 8, wire.OpUnlock, 1, 0)
			b.ann(5, 4, 40, mu, 8, wire.OpLock, 2, 0)
		},
		end: 50,
		want: []lkWant{{
			line: 40, goroutines: []parse.GoID{4}, msg: `Mutex#8 .*1 still waiting at trace end`,
			stats: map[string]int64{"long_waits": 1, "still_waiting": 1},
		}},
	}, {
		name: "reentrant locks release at depth zero",
		build: func(b *lkTrace) {
			b.ann(0, 1, 30, rmu, 3, wire.OpLock, 1, 1)
			b.ann(0.5, 1, 31, rmu, 3, wire.OpLock, 1, 2) // re-entry
			b.ann(1, 2, 40, rmu, 3, wire.OpWait, 0, 0)
			b.ann(3, 1, 32, rmu, 3, wire.OpUnlock, 1, 1) // still held
			b.ann(4, 1, 31, rmu, 3, wire.OpLock, 1, 2)   // re-entry again: no wait ends
			b.ann(5, 1, 32, rmu, 3, wire.OpUnlock, 1, 1)
			b.ann(8, 1, 33, rmu, 3, wire.OpUnlock, 1, 0)
			b.ann(8, 2, 40, rmu, 3, wire.OpLock, 2, 1)
		},
		end: 10,
		want: []lkWant{{
			line: 40, msg: `ReentrantMutex#3 .*held by goroutine 1, locked at main.go:30, unlocked at main.go:33`,
			stats: map[string]int64{"waits": 1, "max_ns": ms(7)},
		}},
	}, {
		name: "RWMutex readers and writers",
		build: func(b *lkTrace) {
			b.ann(0, 1, 20, rw, 5, wire.OpRLock, 0, 0)
			b.ann(0, 2, 20, rw, 5, wire.OpRLock, 0, 0)
			b.ann(1, 3, 40, rw, 5, wire.OpWait, 0, 0) // a writer waits for both readers
			b.ann(3, 1, 21, rw, 5, wire.OpRUnlock, 0, 0)
			b.ann(9, 2, 22, rw, 5, wire.OpRUnlock, 0, 0)
			b.ann(9, 3, 40, rw, 5, wire.OpLock, 1, 0)
			b.ann(10, 4, 20, rw, 5, wire.OpWait, 0, 1) // a reader waits for the writer
			b.ann(15, 3, 41, rw, 5, wire.OpUnlock, 1, 0)
			b.ann(15, 4, 20, rw, 5, wire.OpRLock, 1, 0)
			b.ann(16, 4, 21, rw, 5, wire.OpRUnlock, 1, 0)
		},
		end: 20,
		want: []lkWant{{
			// Two Lock lines with one long wait each: the longer wait's
			// line is the location.
			line: 40, goroutines: []parse.GoID{3, 4},
			msg:   `^2 waits over 1ms for RWMutex#5 at main.go:40 .*read-held by goroutine 2, locked at main.go:20, unlocked at main.go:22 \(8ms of the 13ms waited\)$`,
			stats: map[string]int64{"long_waits": 2, "total_ns": ms(13), "max_ns": ms(8), "blamed_ns": ms(8)},
		}},
	}, {
		name: "starvation mode",
		build: func(b *lkTrace) {
			b.ann(0, 1, 30, mu, 7, wire.OpLock, 1, 0)
			b.ann(0.5, 2, 40, mu, 7, wire.OpWait, 0, 0)
			b.ann(2, 2, 40, mu, 7, wire.OpStarve, 0, 0)
			b.ann(7, 1, 33, mu, 7, wire.OpUnlock, 1, 0)
			b.ann(7, 2, 40, mu, 7, wire.OpNormal, 0, 0)
			b.ann(7, 2, 40, mu, 7, wire.OpLock, 2, 0)
			b.ann(8, 3, 40, mu, 7, wire.OpWait, 0, 0)
			b.ann(8.5, 3, 40, mu, 7, wire.OpStarve, 0, 0)
			b.ann(9, 2, 41, mu, 7, wire.OpUnlock, 2, 0)
			b.ann(9, 3, 40, mu, 7, wire.OpLock, 3, 0)
		},
		end: 10,
		want: []lkWant{{
			line: 40, msg: `it entered starvation mode 2 times \(6.5ms in starvation mode\)$`,
			stats: map[string]int64{"starvation_entries": 2, "starvation_ns": ms(6.5), "long_waits": 1},
		}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b lkTrace
			tt.build(&b)
			lkCheck(t, b.run(t, MutexWait, nil, tt.end), tt.want)
		})
	}
}

// Plain sync frames, as Go 1.26 traces show them.
var (
	lkMutexLock    = lkLib("sync.(*Mutex).Lock")
	lkMutexUnlock  = lkLib("sync.(*Mutex).Unlock")
	lkRWLock       = lkLib("sync.(*RWMutex).Lock")
	lkRWUnlock     = lkLib("sync.(*RWMutex).Unlock")
	lkRWRLock      = lkLib("sync.(*RWMutex).RLock")
	lkRWRUnlock    = lkLib("sync.(*RWMutex).RUnlock")
	lkWaitGroup    = lkLib("sync.(*WaitGroup).Wait")
	lkWaitGroupAdd = lkLib("sync.(*WaitGroup).Add")
)

func TestMutexWaitPlain(t *testing.T) {
	tests := []struct {
		name  string
		build func(b *lkTrace)
		end   float64
		want  []lkWant
	}{{
		name: "blame the unlocker and its Lock site",
		build: func(b *lkTrace) {
			// Goroutine 1 waits briefly at line 20, woken by 3's Unlock
			// at line 22; then goroutine 2 waits 6ms, woken by 1.
			s1 := b.park(0, 1, lkMutexLock, lkUser(20))
			b.wake(0.5, 1, s1, 0, 3, lkMutexUnlock, lkUser(22))
			s2 := b.park(1, 2, lkMutexLock, lkUser(20))
			b.wake(7, 2, s2, 1, 1, lkMutexUnlock, lkUser(22))
		},
		end: 10,
		want: []lkWant{{
			line: 20, severity: SeverityWarning, confidence: ConfidencePerCallSite, evidence: EvidenceRuntime,
			msg:        `^1 wait over 1ms for a sync.Mutex at main.go:20 \(longest 6ms, total 6ms, p50 6ms, p99 6ms\); woken by goroutine 1 unlocking at main.go:22 \(the last holder\), which had locked it at main.go:20; while they waited, the holders were running 100%; holder sites by waited time: Lock main.go:20 → Unlock main.go:22 100% \(hold p50 6.5ms, max 6.5ms\)$`,
			goroutines: []parse.GoID{2},
			stats:      map[string]int64{"waits": 2, "long_waits": 1, "max_ns": ms(6), "blamed_ns": ms(6)},
			related:    map[string]string{"holder-unlock": "1@22", "holder": "1@20"},
		}},
	}, {
		name: "holder's Lock of another virtual mutex is not given",
		build: func(b *lkTrace) {
			s1 := b.park(0, 1, lkMutexLock, lkUser(70)) // another mutex
			b.wake(0.5, 1, s1, 0, 3, lkMutexUnlock, lkUser(72))
			s2 := b.park(1, 2, lkMutexLock, lkUser(20))
			b.wake(7, 2, s2, 1, 1, lkMutexUnlock, lkUser(22))
		},
		end: 10,
		want: []lkWant{{
			line: 20, msg: `\(the last holder\); while they waited, the holders were running 100%; holder sites by waited time: Unlock main.go:22 \(its Lock was not contended: not in the trace\) 100%$`,
			related: map[string]string{"holder-unlock": "1@22", "holder": ""},
		}},
	}, {
		name: "WaitGroup and short waits are not mutex waits",
		build: func(b *lkTrace) {
			s1 := b.park(0, 1, lkWaitGroup, lkUser(20))
			b.wake(9, 1, s1, 0, 3, lkWaitGroupAdd, lkUser(22))
			s2 := b.park(1, 2, lkMutexLock, lkUser(30))
			b.wake(1.9, 2, s2, 1, 1, lkMutexUnlock, lkUser(32))
		},
		end: 10,
	}, {
		name: "RWMutex write and read waits are their own sites",
		build: func(b *lkTrace) {
			s1 := b.park(0, 1, lkMutexLock, lkRWLock, lkUser(20)) // the writers' lock
			b.wake(5, 1, s1, 0, 3, lkMutexUnlock, lkRWUnlock, lkUser(21))
			s2 := b.park(5, 2, lkRWRLock, lkUser(30))
			b.wake(9, 2, s2, 5, 1, lkRWUnlock, lkUser(21))
			s3 := b.park(9.5, 4, lkRWLock, lkUser(20)) // waiting for readers
			b.wake(12, 4, s3, 9.5, 2, lkRWRUnlock, lkUser(31))
		},
		end: 20,
		want: []lkWant{{
			line: 20, msg: `^2 waits over 1ms for a sync.RWMutex \(write lock\) at main.go:20 \(longest 5ms, total 7.5ms.*woken by goroutine 3 unlocking at main.go:21`,
			goroutines: []parse.GoID{1, 4},
		}, {
			line: 30, msg: `^1 wait over 1ms for a sync.RWMutex \(read lock\) at main.go:30 .*woken by goroutine 1 unlocking at main.go:21 \(the last holder\), which had locked it at main.go:20; while they waited, the holders were running 100%`,
		}},
	}, {
		name: "Lock called by a library",
		build: func(b *lkTrace) {
			s := b.park(0, 1, lkMutexLock, lkLib("database/sql.(*DB).conn"), lkUser(20))
			b.wake(5, 1, s, 0, 2, lkMutexUnlock, lkLib("database/sql.(*DB).putConn"), lkUser(25))
		},
		end:  10,
		want: []lkWant{{line: 20, msg: `sync.Mutex at main.go:20 \(in sql.\(\*DB\).conn\)`}},
	}, {
		// x/sync's semaphore and singleflight guard a few instructions
		// with their locks; their own detectors judge their waits.
		name: "x/sync's internal locks are not reported",
		build: func(b *lkTrace) {
			s := b.park(0, 1, lkMutexLock, lkLib("golang.org/x/sync/semaphore.(*Weighted).Acquire"), lkUser(20))
			b.wake(5, 1, s, 0, 2, lkMutexUnlock, lkLib("golang.org/x/sync/semaphore.(*Weighted).Release"), lkUser(25))
			s = b.park(0, 3, lkMutexLock, lkLib("golang.org/x/sync/singleflight.(*Group).Do"), lkUser(30))
			b.wake(5, 3, s, 0, 4, lkMutexUnlock, lkLib("golang.org/x/sync/singleflight.(*Group).doCall"), lkUser(35))
		},
		end: 10,
	}, {
		// t.Helper's lock, taken inside an assertion library (testify)
		// by goroutines that assert at once: the testing framework's,
		// never the user's contention.
		name: "package testing's own locks are not reported",
		build: func(b *lkTrace) {
			s := b.park(0, 1, lkRWLock, lkLib("testing.(*common).Helper"), lkLib("github.com/stretchr/testify/assert.Equal"), lkUser(20))
			b.wake(5, 1, s, 0, 2, lkLib("sync.(*RWMutex).Unlock"), lkLib("testing.(*common).Helper"), lkLib("github.com/stretchr/testify/assert.Equal"), lkUser(25))
		},
		end: 10,
	}, {
		name: "park begun before the trace",
		build: func(b *lkTrace) {
			s := b.st.add(lkMutexLock, lkUser(20))
			b.wake(4, 2, s, 0.5, 1, lkMutexUnlock, lkUser(22)) // no block event
		},
		end:  10,
		want: []lkWant{{line: 20, stats: map[string]int64{"max_ns": ms(3.5), "waits": 1}}},
	}, {
		name: "parks spanning the trace end are not reported alone",
		build: func(b *lkTrace) {
			b.park(1, 2, lkMutexLock, lkUser(20))
		},
		end: 50,
	}, {
		name: "a waker without a stack",
		build: func(b *lkTrace) {
			s := b.park(1, 2, lkMutexLock, lkUser(20))
			b.wake(5, 2, s, 1, parse.NoGoroutine)
		},
		end:  10,
		want: []lkWant{{line: 20, msg: `\(longest 4ms, total 4ms, p50 4ms, p99 4ms\)$`, related: map[string]string{"holder-unlock": ""}}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b lkTrace
			tt.build(&b)
			lkCheck(t, b.run(t, MutexWait, nil, tt.end), tt.want)
		})
	}
}

// TestMutexWaitOnce checks that a wait seen in both annotations and
// runtime events is reported once, from the annotations.
func TestMutexWaitOnce(t *testing.T) {
	tests := []struct {
		name   string
		g      parse.GoID
		frames []parse.Frame
	}{
		{"park during an annotated wait", 2, []parse.Frame{lkMutexLock, lkUser(40)}},
		{"park inside a primitive", 5, []parse.Frame{lkMutexLock, lkLib(parse.PrimitivesPath + "sync.(*Cond).Wait"), lkUser(45)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b lkTrace
			b.ann(0, 1, 30, mu, 7, wire.OpLock, 1, 0)
			b.ann(1, 2, 40, mu, 7, wire.OpWait, 0, 0)
			s := b.park(1.1, tt.g, tt.frames...)
			b.wake(6, tt.g, s, 1.1, 1, lkMutexUnlock, lkUser(33))
			b.ann(6, 1, 33, mu, 7, wire.OpUnlock, 1, 0)
			b.ann(6.1, 2, 40, mu, 7, wire.OpLock, 2, 0)
			lkCheck(t, b.run(t, MutexWait, nil, 10), []lkWant{{line: 40, evidence: EvidenceAnnotations}})
		})
	}
}

func TestMutexWaitThreshold(t *testing.T) {
	tests := []struct {
		threshold time.Duration
		want      int
	}{
		{0, 1}, // the default, 1ms
		{time.Millisecond, 1},
		{5 * time.Millisecond, 0},
		{time.Nanosecond, 2},
	}
	for _, tt := range tests {
		t.Run(tt.threshold.String(), func(t *testing.T) {
			var b lkTrace
			s1 := b.park(0, 1, lkMutexLock, lkUser(20))
			b.wake(3, 1, s1, 0, 2, lkMutexUnlock, lkUser(22))
			s2 := b.park(1, 3, lkMutexLock, lkUser(30))
			b.wake(1.5, 3, s2, 1, 2, lkMutexUnlock, lkUser(32))
			cfg := DefaultConfig()
			cfg.MutexWait.Threshold = tt.threshold
			if got := len(b.run(t, MutexWait, cfg, 10)); got != tt.want {
				t.Errorf("Threshold %v: %d findings; want %d", tt.threshold, got, tt.want)
			}
		})
	}
}

func TestMutexWaitStats(t *testing.T) {
	var long []mwLong
	for i := 1; i <= 100; i++ {
		long = append(long, mwLong{dur: time.Duration(101-i) * time.Millisecond})
	}
	n, total, p50, p99, longest := mwStats(long)
	got := fmt.Sprint(n, total, p50, p99, longest)
	if want := fmt.Sprint(100, 5050*time.Millisecond, 50*time.Millisecond, 99*time.Millisecond, 100*time.Millisecond); got != want {
		t.Errorf("mwStats(1..100ms) = %s; want %s", got, want)
	}
	if got := strings.Join(strings.Fields(fmt.Sprint(mwStats(long[:1]))), " "); got != "1 100ms 100ms 100ms 100ms" {
		t.Errorf("mwStats(100ms) = %s; want 1 100ms 100ms 100ms 100ms", got)
	}
}

// TestMutexWaitHolderStates checks that a plain wait is charged to its
// root holder, found back through the wake chain: goroutine 2 is woken by
// goroutine 3, which had queued too; the lock's holder when 2 parked was
// goroutine 1, asleep under it.
func TestMutexWaitHolderStates(t *testing.T) {
	t.Run("holder-lives", func(t *testing.T) { testHolderStates(t, 0) })
	// The root holder exits after handing the lock on, and many
	// goroutines come and go before the wait ends: the sweep of exited
	// goroutines' histories must keep the root's.
	t.Run("holder-exits", func(t *testing.T) { testHolderStates(t, 3*mwSweepMin) })
}

func testHolderStates(t *testing.T, churn int) {
	var b lkTrace
	run := func(ms float64, g parse.GoID) {
		b.evs = append(b.evs, parse.Event{Kind: parse.EvRun, Time: lkMs(ms), G: g, Peer: parse.NoGoroutine})
	}
	exit := func(ms float64, g parse.GoID) {
		b.evs = append(b.evs, parse.Event{Kind: parse.EvExit, Time: lkMs(ms), G: g, Peer: parse.NoGoroutine})
	}
	sleep := b.st.add(lkLib("time.Sleep"), lkUser(11))
	run(0, 1) // goroutine 1 locks (uncontended) and sleeps under the lock
	b.evs = append(b.evs, parse.Event{Kind: parse.EvBlock, Time: lkMs(0.1), G: 1, Peer: parse.NoGoroutine, Reason: parse.ReasonSleep, Stack: sleep})
	s2 := b.park(0.3, 2, lkMutexLock, lkUser(20))
	s3 := b.park(0.5, 3, lkMutexLock, lkUser(20))
	b.evs = append(b.evs, parse.Event{Kind: parse.EvWake, Time: lkMs(6), G: 1, Peer: parse.NoGoroutine, Reason: parse.ReasonSleep, Stack: sleep, Start: lkMs(0.1)})
	run(6, 1)
	b.wake(6.1, 3, s3, 0.5, 1, lkMutexUnlock, lkUser(12))
	if churn > 0 {
		exit(6.11, 1)
		for i := range churn {
			at := 6.12 + 0.07*float64(i)/float64(churn)
			run(at, parse.GoID(100+i))
			exit(at, parse.GoID(100+i))
		}
	}
	b.wake(6.2, 2, s2, 0.3, 3, lkMutexUnlock, lkUser(22))
	fs := b.run(t, MutexWait, nil, 10)
	if len(fs) != 1 {
		t.Fatalf("findings = %d; want 1", len(fs))
	}
	f := fs[0]
	if f.Cause != CauseHolderBlocked || f.Severity != SeverityWarning {
		t.Errorf("Cause, Severity = %q, %q; want %q, warning", f.Cause, f.Severity, CauseHolderBlocked)
	}
	if got := f.HolderStates["blocked"]; got < 0.9 {
		t.Errorf("HolderStates = %v; want blocked over 0.9", f.HolderStates)
	}
	for _, want := range []string{`blocked \d+% \(time.Sleep at main.go:11\)`, `root holder was goroutine 1, unlocking at main.go:12, with 1 more queued ahead`} {
		if !regexp.MustCompile(want).MatchString(f.Message) {
			t.Errorf("Message = %q; want match for %q", f.Message, want)
		}
	}
	var roots []string
	for _, r := range f.Related {
		if r.Role == "root-holder" {
			roots = append(roots, fmt.Sprintf("%d@%d", r.Goroutine, r.Location.Line))
		}
	}
	if !slices.Equal(roots, []string{"1@12"}) {
		t.Errorf("root-holder related = %v; want [1@12]", roots)
	}
}

// TestMutexWaitHistoriesBounded checks that a wait open for good (a
// goroutine parked in Lock to the end) does not make the detector keep
// the state history of every goroutine that comes and goes after it.
func TestMutexWaitHistoriesBounded(t *testing.T) {
	m := newMutexWait(DefaultMutexWaitOptions())
	m.stacks = &lkStacks{}
	st := m.stacks.(*lkStacks).add(lkMutexLock, lkUser(20))
	tr := &parse.Trace{}
	feed := func(ev parse.Event) { m.Event(tr, &ev) }
	feed(parse.Event{Kind: parse.EvBlock, Time: 1, G: 1, Peer: parse.NoGoroutine, Reason: parse.ReasonSync, Stack: st})
	const n = 4 * mwMaxGone
	for i := range parse.GoID(n) {
		at := parse.Time(10 + 2*i)
		feed(parse.Event{Kind: parse.EvRun, Time: at, G: 2 + i, Peer: parse.NoGoroutine})
		feed(parse.Event{Kind: parse.EvExit, Time: at + 1, G: 2 + i, Peer: parse.NoGoroutine})
	}
	if !m.tracking() {
		t.Fatal("the park is not open: the test does not test the sweep")
	}
	if len(m.gone) > mwMaxGone || m.spans.Len() > mwMaxGone+1 {
		t.Errorf("after %d goroutines exited: %d exited and %d histories kept; want at most %d", n, len(m.gone), m.spans.Len(), mwMaxGone)
	}
}

// TestMutexWaitStdlibLocks checks that a wait on a hot lock inside the
// standard library gets the fix at the user's level.
func TestMutexWaitStdlibLocks(t *testing.T) {
	for _, tt := range []struct{ via, hint string }{
		{"context.(*cancelCtx).propagateCancel", "derive fewer"},
		{"sync.(*Pool).pinSlow", "create Pools once"},
		{"log.(*Logger).output", "log less on hot paths"},
		{"database/sql.(*DB).conn", "shorten the critical section"},
	} {
		var b lkTrace
		s := b.park(0, 1, lkMutexLock, lkLib(tt.via), lkUser(20))
		b.wake(5, 1, s, 0, 2, lkMutexUnlock, lkLib(tt.via), lkUser(25))
		fs := b.run(t, MutexWait, nil, 10)
		if len(fs) != 1 || !strings.Contains(fs[0].Hint, tt.hint) {
			t.Errorf("Lock via %s: findings %d, hint %q; want one whose hint says %q", tt.via, len(fs), fs[0].Hint, tt.hint)
		}
	}
}

// TestMutexWaitRunnableHolder checks that a wait whose holder was mostly
// runnable is info, unless the rest of it was long on its own.
func TestMutexWaitRunnableHolder(t *testing.T) {
	for _, tt := range []struct {
		name    string
		sleepMs float64 // the holder sleeps under the lock, then is runnable 10 ms
		cause   string
		sev     Severity
	}{
		{"runnable only", 0.5, CauseHolderRunnable, SeverityInfo},
		{"a long sleep too", 5, CauseHolderBlocked, SeverityWarning},
	} {
		var b lkTrace
		sleep := b.st.add(lkLib("time.Sleep"), lkUser(11))
		b.evs = append(b.evs, parse.Event{Kind: parse.EvRun, Time: 0, G: 1, Peer: parse.NoGoroutine},
			parse.Event{Kind: parse.EvBlock, Time: lkMs(0.1), G: 1, Peer: parse.NoGoroutine, Reason: parse.ReasonSleep, Stack: sleep})
		s2 := b.park(0.05, 2, lkMutexLock, lkUser(20))
		woke := 0.1 + tt.sleepMs
		b.evs = append(b.evs, parse.Event{Kind: parse.EvWake, Time: lkMs(woke), G: 1, Peer: parse.NoGoroutine, Reason: parse.ReasonSleep, Stack: sleep, Start: lkMs(0.1)},
			parse.Event{Kind: parse.EvRun, Time: lkMs(woke + 10), G: 1, Peer: parse.NoGoroutine})
		b.wake(woke+10.1, 2, s2, 0.05, 1, lkMutexUnlock, lkUser(12))
		fs := b.run(t, MutexWait, nil, 30)
		if len(fs) != 1 || fs[0].Cause != tt.cause || fs[0].Severity != tt.sev {
			t.Errorf("%s: findings %s; want one %s %s", tt.name, dlDump(fs), tt.sev, tt.cause)
		}
	}
}

// TestMutexWaitDeadHolder: an annotated wait whose root hold belongs to a
// goroutine that exited (still holding, as the annotations tell) before
// the wait began. A dead holder is in no state during the wait, so the
// finding names no holder states, however many unrelated goroutines exit
// during the wait (and so whether their histories were swept or not).
func TestMutexWaitDeadHolder(t *testing.T) {
	find := func(churn int) Finding {
		var b lkTrace
		ev := func(k parse.EventKind, ms float64, g parse.GoID) {
			b.evs = append(b.evs, parse.Event{Kind: k, Time: lkMs(ms), G: g, Peer: parse.NoGoroutine})
		}
		s := b.park(0, 50, lkMutexLock, lkUser(90)) // some plain wait is open: histories are kept
		ev(parse.EvRun, 0.1, 1)
		b.ann(0.2, 1, 10, wire.KindMutex, 7, wire.OpLock, 1, 0) // goroutine 1 holds 7
		ev(parse.EvExit, 1.0, 1)                                // and exits holding it
		b.ann(2.0, 2, 20, wire.KindMutex, 7, wire.OpWait, 2, 0) // goroutine 2 waits for 7
		b.wake(3.0, 50, s, 0, 60, lkMutexUnlock, lkUser(91))    // the plain wait ends
		for i := range churn {
			at := 3.1 + 50*float64(i)/float64(churn)
			ev(parse.EvRun, at, parse.GoID(100+i))
			ev(parse.EvExit, at, parse.GoID(100+i))
		}
		b.ann(60, 2, 20, wire.KindMutex, 7, wire.OpLock, 2, 0)
		fs := b.run(t, MutexWait, nil, 70)
		for _, f := range fs {
			if f.Object != "" || len(f.Goroutines) > 0 && f.Goroutines[0] == 2 {
				return f
			}
		}
		t.Fatalf("no finding for the wait on 7: %+v", fs)
		return Finding{}
	}
	for _, churn := range []int{0, 1000, 2 * mwSweepMin} {
		if f := find(churn); f.Cause != "" || len(f.HolderStates) > 0 {
			t.Errorf("%d exits during the wait: cause %q, holder states %v; want none (the holder is dead)", churn, f.Cause, f.HolderStates)
		}
	}
}
