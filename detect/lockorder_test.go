package detect

import (
	"testing"

	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
)

// lkPair appends goroutine g locking first at line then second at
// line+1 (read-locking where asked), then unlocking both, from ms on.
func (b *lkTrace) lkPair(ms float64, g parse.GoID, line int, kind wire.Kind, first, second wire.ObjectID, firstRead, secondRead bool) {
	lock := func(read bool) (wire.Op, wire.Op) {
		if read {
			return wire.OpRLock, wire.OpRUnlock
		}
		return wire.OpLock, wire.OpUnlock
	}
	l1, u1 := lock(firstRead)
	l2, u2 := lock(secondRead)
	b.ann(ms, g, line, kind, first, l1, 0, 0)
	b.ann(ms+0.1, g, line+1, kind, second, l2, 0, 0)
	b.ann(ms+0.2, g, line+2, kind, second, u2, 0, 0)
	b.ann(ms+0.3, g, line+3, kind, first, u1, 0, 0)
}

func TestLockOrder(t *testing.T) {
	const a, b2, gate = wire.ObjectID(1), wire.ObjectID(2), wire.ObjectID(3)
	tests := []struct {
		name  string
		build func(b *lkTrace)
		opts  *LockOrderOptions
		want  []lkWant
	}{{
		name: "two goroutines, both orders",
		build: func(b *lkTrace) {
			b.ann(0, 1, 5, mu, a, wire.OpName, 0, 0)
			b.evs[0].Annotation.Key = "accounts"
			b.lkPair(1, 1, 10, mu, a, b2, false, false)
			b.lkPair(2, 1, 10, mu, a, b2, false, false)
			b.lkPair(3, 2, 20, mu, b2, a, false, false)
		},
		want: []lkWant{{
			line: 21, severity: SeverityWarning, confidence: ConfidenceTwoGoroutines, evidence: EvidenceAnnotations,
			goroutines: []parse.GoID{1, 2},
			msg:        `^lock-order inversion: Mutex#1 "accounts" is locked at main.go:21 while holding Mutex#2 \(goroutine 2\), but Mutex#2 is locked at main.go:11 while holding Mutex#1 "accounts" \(goroutine 1\); .* take Mutex#1 "accounts" before Mutex#2 everywhere \(2 of 3 acquisitions do\)$`,
			stats:      map[string]int64{"order_count": 2, "inverse_count": 1},
			related:    map[string]string{"held": "2@20", "other-order-held": "1@10", "other-order-locked": "1@11"},
		}},
	}, {
		name: "one order only",
		build: func(b *lkTrace) {
			b.lkPair(1, 1, 10, mu, a, b2, false, false)
			b.lkPair(2, 2, 20, mu, a, b2, false, false)
		},
	}, {
		name: "one goroutine, both orders",
		build: func(b *lkTrace) {
			b.lkPair(1, 1, 10, mu, a, b2, false, false)
			b.lkPair(2, 1, 20, mu, b2, a, false, false)
		},
		want: []lkWant{{
			line: 21, confidence: ConfidenceOneGoroutine, goroutines: []parse.GoID{1},
			msg: `; only goroutine 1 took them in this trace$`,
		}},
	}, {
		name: "one goroutine, both orders, not asked for",
		build: func(b *lkTrace) {
			b.lkPair(1, 1, 10, mu, a, b2, false, false)
			b.lkPair(2, 1, 20, mu, b2, a, false, false)
		},
		opts: &LockOrderOptions{SameGoroutine: false},
	}, {
		name: "a re-entered lock adds no order",
		build: func(b *lkTrace) {
			// Goroutine 1: R, M, R again (re-entry); goroutine 2: R, M.
			b.ann(1, 1, 10, rmu, a, wire.OpLock, 1, 1)
			b.ann(1.1, 1, 11, mu, b2, wire.OpLock, 1, 0)
			b.ann(1.2, 1, 12, rmu, a, wire.OpLock, 1, 2)
			b.ann(1.3, 1, 13, rmu, a, wire.OpUnlock, 1, 1)
			b.ann(1.4, 1, 14, mu, b2, wire.OpUnlock, 1, 0)
			b.ann(1.5, 1, 15, rmu, a, wire.OpUnlock, 1, 0)
			b.ann(2, 2, 20, rmu, a, wire.OpLock, 2, 1)
			b.ann(2.1, 2, 21, mu, b2, wire.OpLock, 2, 0)
		},
	}, {
		name: "a gate lock held for writing serializes both orders",
		build: func(b *lkTrace) {
			b.ann(1, 1, 5, mu, gate, wire.OpLock, 1, 0)
			b.lkPair(1.1, 1, 10, mu, a, b2, false, false)
			b.ann(1.5, 1, 6, mu, gate, wire.OpUnlock, 1, 0)
			b.ann(2, 2, 5, mu, gate, wire.OpLock, 2, 0)
			b.lkPair(2.1, 2, 20, mu, b2, a, false, false)
			b.ann(2.5, 2, 6, mu, gate, wire.OpUnlock, 2, 0)
		},
	}, {
		name: "a gate lock held for reading does not",
		build: func(b *lkTrace) {
			b.ann(1, 1, 5, rw, gate, wire.OpRLock, 0, 0)
			b.lkPair(1.1, 1, 10, mu, a, b2, false, false)
			b.ann(2, 2, 5, rw, gate, wire.OpRLock, 0, 0)
			b.lkPair(2.1, 2, 20, mu, b2, a, false, false)
		},
		want: []lkWant{{line: 21, confidence: ConfidenceTwoGoroutines}},
	}, {
		name: "a gate lock missing once does not",
		build: func(b *lkTrace) {
			b.ann(1, 1, 5, mu, gate, wire.OpLock, 1, 0)
			b.lkPair(1.1, 1, 10, mu, a, b2, false, false)
			b.ann(1.5, 1, 6, mu, gate, wire.OpUnlock, 1, 0)
			b.lkPair(1.6, 1, 10, mu, a, b2, false, false)
			b.ann(2, 2, 5, mu, gate, wire.OpLock, 2, 0)
			b.lkPair(2.1, 2, 20, mu, b2, a, false, false)
		},
		want: []lkWant{{line: 21}},
	}, {
		name: "read locks in both orders share",
		build: func(b *lkTrace) {
			b.lkPair(1, 1, 10, rw, a, b2, true, true)
			b.lkPair(2, 2, 20, rw, b2, a, true, true)
		},
	}, {
		name: "RLock then Lock against Lock then RLock",
		build: func(b *lkTrace) {
			b.lkPair(1, 1, 10, rw, a, b2, true, false)
			b.lkPair(1.5, 1, 10, rw, a, b2, true, false)
			b.lkPair(2, 2, 20, rw, b2, a, true, false) // holds b2 read, locks a: waits for 1's read hold
		},
		want: []lkWant{{
			line: 21, msg: `RWMutex#1 is locked at main.go:21 while holding RWMutex#2 \(read\) \(goroutine 2\), but RWMutex#2 is locked at main.go:11 while holding RWMutex#1 \(read\)`,
		}},
	}, {
		name: "RLock then Lock against RLock then RLock",
		build: func(b *lkTrace) {
			b.lkPair(1, 1, 10, rw, a, b2, true, false)
			b.lkPair(2, 2, 20, rw, b2, a, false, true) // holds b2 for writing, but only reads a
		},
	}, {
		name: "a Mutex unlocked by another goroutine is no longer held",
		build: func(b *lkTrace) {
			b.ann(1, 1, 10, mu, a, wire.OpLock, 1, 0)
			b.ann(1.1, 2, 30, mu, a, wire.OpUnlock, 1, 0) // handed off and released by 2
			b.ann(1.2, 1, 11, mu, b2, wire.OpLock, 1, 0)
			b.ann(1.3, 1, 12, mu, b2, wire.OpUnlock, 1, 0)
			b.lkPair(2, 3, 20, mu, b2, a, false, false)
		},
	}, {
		name: "Unlock read after the next Lock",
		build: func(b *lkTrace) {
			b.ann(1, 1, 10, mu, a, wire.OpLock, 1, 0)
			b.ann(1.1, 2, 30, mu, a, wire.OpLock, 2, 0)
			b.ann(1.101, 1, 12, mu, a, wire.OpUnlock, 1, 0) // goroutine 1's, not 2's
			b.ann(1.2, 2, 31, mu, b2, wire.OpLock, 1, 0)    // 2 holds a: order a, b2
			b.ann(1.3, 2, 32, mu, b2, wire.OpUnlock, 1, 0)
			b.ann(1.4, 2, 33, mu, a, wire.OpUnlock, 2, 0)
			b.lkPair(2, 3, 20, mu, b2, a, false, false)
			b.lkPair(3, 1, 40, mu, b2, wire.ObjectID(9), false, false) // 1 holds nothing of a
		},
		want: []lkWant{{
			line: 21, goroutines: []parse.GoID{2, 3},
			stats:   map[string]int64{"order_count": 1, "inverse_count": 1},
			related: map[string]string{"held": "3@20", "other-order-held": "2@30", "other-order-locked": "2@31"},
		}},
	}, {
		name: "a ring of three locks over three goroutines",
		build: func(b *lkTrace) {
			b.lkPair(1, 1, 10, mu, a, b2, false, false)
			b.lkPair(2, 1, 10, mu, a, b2, false, false)
			b.lkPair(3, 2, 20, mu, b2, gate, false, false)
			b.lkPair(4, 2, 20, mu, b2, gate, false, false)
			b.lkPair(5, 3, 30, mu, gate, a, false, false)
		},
		want: []lkWant{{
			line: 31, severity: SeverityWarning, confidence: ConfidenceTwoGoroutines, evidence: EvidenceAnnotations,
			goroutines: []parse.GoID{1, 2, 3},
			msg:        `^lock-order ring of 3 locks, Mutex#1 → Mutex#2 → Mutex#3 → Mutex#1: goroutine 1 holds Mutex#1 \(locked at main.go:10\) and locks Mutex#2 at main.go:11; goroutine 2 holds Mutex#2 \(locked at main.go:20\) and locks Mutex#3 at main.go:21; goroutine 3 holds Mutex#3 \(locked at main.go:30\) and locks Mutex#1 at main.go:31; .* take them in the order Mutex#1, Mutex#2, Mutex#3 everywhere \(4 of 5 acquisitions do\)$`,
			stats:      map[string]int64{"ring_length": 3, "order_count": 4, "inverse_count": 1},
			related:    map[string]string{"held": "1@10,2@20,3@30", "locked": "1@11,2@21,3@31"},
		}},
	}, {
		name: "a ring of four locks, and no pair inverted",
		build: func(b *lkTrace) {
			b.lkPair(1, 1, 10, mu, 1, 2, false, false)
			b.lkPair(2, 2, 20, mu, 2, 3, false, false)
			b.lkPair(3, 3, 30, mu, 3, 4, false, false)
			b.lkPair(4, 4, 40, mu, 4, 1, false, false)
			b.lkPair(5, 5, 50, mu, 1, 3, false, false) // a chord: 1 → 3 → 4 → 1 is a ring too
		},
		want: []lkWant{
			// Each order taken once: the latest is the odd one out.
			{line: 41, msg: `^lock-order ring of 4 locks, Mutex#1 → Mutex#2 → Mutex#3 → Mutex#4 → Mutex#1: `, stats: map[string]int64{"ring_length": 4}},
			{line: 51, msg: `^lock-order ring of 3 locks, Mutex#3 → Mutex#4 → Mutex#1 → Mutex#3: .*take them in the order Mutex#3, Mutex#4, Mutex#1 everywhere \(2 of 3 acquisitions do\)$`},
		},
	}, {
		name: "a ring gated by a lock held for writing at every order",
		build: func(b *lkTrace) {
			for i, p := range [][2]wire.ObjectID{{a, b2}, {b2, 4}, {4, a}} {
				g, line := parse.GoID(i+1), 10*(i+1)
				b.ann(float64(i+1), g, 5, mu, gate, wire.OpLock, uint64(i+1), 0)
				b.lkPair(float64(i+1)+0.1, g, line, mu, p[0], p[1], false, false)
				b.ann(float64(i+1)+0.5, g, 6, mu, gate, wire.OpUnlock, uint64(i+1), 0)
			}
		},
	}, {
		name: "a ring gated at only two of its orders",
		build: func(b *lkTrace) {
			for i, p := range [][2]wire.ObjectID{{a, b2}, {b2, 4}} {
				g, line := parse.GoID(i+1), 10*(i+1)
				b.ann(float64(i+1), g, 5, mu, gate, wire.OpLock, uint64(i+1), 0)
				b.lkPair(float64(i+1)+0.1, g, line, mu, p[0], p[1], false, false)
				b.ann(float64(i+1)+0.5, g, 6, mu, gate, wire.OpUnlock, uint64(i+1), 0)
			}
			b.lkPair(4, 3, 30, mu, 4, a, false, false)
		},
		want: []lkWant{{msg: `^lock-order ring of 3 locks`}},
	}, {
		name: "a ring whose readers share is none",
		build: func(b *lkTrace) {
			b.lkPair(1, 1, 10, rw, a, b2, true, false)
			b.lkPair(2, 2, 20, rw, b2, gate, false, false)
			b.lkPair(3, 3, 30, rw, gate, a, false, true) // only reads a, which 1 holds for reading
		},
	}, {
		name: "locks held at exit are forgotten",
		build: func(b *lkTrace) {
			b.ann(1, 1, 10, mu, a, wire.OpLock, 1, 0)
			b.evs = append(b.evs, parse.Event{Kind: parse.EvExit, Time: lkMs(1.5), G: 1, Peer: parse.NoGoroutine})
			b.ann(2, 2, 20, mu, b2, wire.OpLock, 1, 0)
			b.ann(2.1, 2, 21, mu, a, wire.OpLock, 2, 0) // blocks forever: a leak, not an order
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b lkTrace
			tt.build(&b)
			cfg := DefaultConfig()
			if tt.opts != nil {
				cfg.LockOrder = *tt.opts
			}
			lkCheck(t, b.run(t, LockOrder, cfg, 10), tt.want)
		})
	}
}
