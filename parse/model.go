package parse

import (
	"iter"
	"time"

	"github.com/blockscope/blockscope/internal/wire"
)

// GoID is a goroutine id as the runtime numbers them.
type GoID int64

// NoGoroutine stands for "no goroutine": the waker of a goroutine woken by
// a timer or the network poller, the creator of one that existed before the
// trace began.
const NoGoroutine GoID = -1

// Time is a trace timestamp in nanoseconds since the trace's first event.
type Time int64

// Duration converts a difference of Times.
func (t Time) Duration() time.Duration { return time.Duration(t) }

// State is a goroutine's scheduling state.
type State uint8

// The goroutine states.
const (
	StateUnknown  State = iota
	StateRunnable       // ready to run, or created and not yet started
	StateRunning
	StateSyscall
	StateWaiting // blocked; see Goroutine.Reason
	StateExited
)

func (s State) String() string {
	switch s {
	case StateRunnable:
		return "runnable"
	case StateRunning:
		return "running"
	case StateSyscall:
		return "syscall"
	case StateWaiting:
		return "waiting"
	case StateExited:
		return "exited"
	}
	return "unknown"
}

// Block is one interval a goroutine spent blocked.
type Block struct {
	Start, End Time   // End is the wake; 0 if still blocked at the trace's end
	Reason     string // see the Reason constants
	Stack      StackID
	Waker      GoID    // who made it runnable; NoGoroutine for a timer, the network poller or unknown
	WakerStack StackID // the waker's stack at the wake
}

// Goroutine is what the trace tells about one goroutine.
type Goroutine struct {
	ID GoID
	// Entry is the goroutine's start function ("" if unknown).
	Entry string
	// System marks runtime goroutines (GC workers, the sweeper, finalizers)
	// and the tracer's own (the trace reader and advancer, the CPU sample
	// reader): none of them is ever the user's leak.
	System bool

	// Created is when the goroutine was created; it is 0 and Preexisting
	// is set for one that existed when the trace began.
	Created     Time
	Preexisting bool
	Creator     GoID    // NoGoroutine if unknown
	CreateStack StackID // the creator's stack at the go statement
	StartStack  StackID // the goroutine's own stack when it was created

	// State is the state at the end of the trace, since Since. For a
	// waiting goroutine, Reason and Stack say on what and where.
	State  State
	Since  Time
	Reason string
	Stack  StackID
	// Blocks are the goroutine's blocks that ended, in order (none when
	// Options.DropBlocks is set).
	Blocks []Block
	// BlockCount and BlockedTime sum all of the goroutine's blocks,
	// including the one still open at the end.
	BlockCount  int
	BlockedTime time.Duration
	Exited      Time // when it exited, if State is StateExited
	// TestFunc is the innermost function called by testing.tRunner seen in
	// this goroutine's stacks: the test it runs, if it runs one.
	TestFunc string

	seq    uint64 // order of first appearance, from 1
	kids   int32  // kept records whose creator this is
	held   bool   // counted in its creator's kids
	pinned bool   // kept after it exits (Trace.Retain)
	// below counts the dropped goroutines it is the nearest kept
	// ancestor of; watched keeps their count with it once it is dropped
	// (see Trace.Watch).
	below   *Dropped
	watched bool
}

// Annotation is a decoded primitive annotation with who emitted it.
type Annotation struct {
	wire.Event
	Time  Time
	G     GoID
	Stack StackID
}

// EventKind is the kind of a normalized Event.
type EventKind uint8

// The normalized event kinds.
const (
	EvCreate     EventKind = iota + 1 // Peer created G: Stack is G's start stack, PeerStack the creator's
	EvBlock                           // G blocked: Reason, Stack
	EvWake                            // Peer woke G (NoGoroutine: a timer, the network poller): Reason, Stack and Start describe the block that ended, PeerStack is the waker's
	EvRun                             // G started running: Start is when it left its last state (became runnable, or returned from a system call)
	EvStop                            // G stopped running without blocking (preempted, yielded, entered a syscall): Reason; Stack where it entered a system call
	EvExit                            // G exited
	EvAnnotation                      // G emitted a primitive annotation: Annotation, Stack

	numKinds = iota + 1
)

// Kinds is a set of event kinds: what a [Selective] consumer asks for.
type Kinds uint16

// KindsOf returns the set of those kinds.
func KindsOf(kinds ...EventKind) Kinds {
	var s Kinds
	for _, k := range kinds {
		s |= 1 << k
	}
	return s
}

// Has reports whether k is in the set.
func (s Kinds) Has(k EventKind) bool { return s&(1<<k) != 0 }

// Event is one normalized event, as the parser hands it to consumers. The
// Trace is updated before consumers see the event.
type Event struct {
	Kind       EventKind
	Time       Time
	G          GoID
	Peer       GoID
	Reason     string
	Stack      StackID
	PeerStack  StackID
	Start      Time // EvWake: when the block began; EvRun: see EvRun
	Annotation wire.Event
}

// Trace is the model of one trace, built in one pass.
type Trace struct {
	Path      string
	GoVersion string // "1.26", from the header; "" if unknown
	// Start and End are the first and last event's timestamps, in the
	// trace's clock; Times in the model are relative to Start.
	Start, End int64
	Events     int // events read
	// Complete is false when the trace was not read whole; Err says why.
	Complete bool
	Err      error
	Warnings []string
	Stacks   *Stacks

	gs store // the goroutine records

	// What Options.DropExited forgot: exited ids (a bit each, by id,
	// below maxExitedBits; a set above), and their counts.
	exitedBits              []uint64
	exitedBig               map[GoID]bool
	droppedCreated, dropped int
	// watched are the dropped goroutines a consumer watches, with the
	// count of them and every goroutine they started (see Watch).
	watched map[GoID]*Dropped

	// tests indexes the testing framework's goroutines (see TestRun).
	tests testIndex

	// BlockedByReason sums blocked time by wait reason.
	BlockedByReason map[string]time.Duration
	// Annotations counts decoded primitive annotations; BadAnnotations
	// those that did not decode (see Warnings).
	Annotations, BadAnnotations int

	// objects are the primitives' objects the annotations name (see
	// noteObject).
	objects objectStore
}

// maxExitedBits bounds the ids kept as bits (32 MB of them at most).
const maxExitedBits = 1 << 28

// Duration is the trace's wall-clock span.
func (t *Trace) Duration() time.Duration { return time.Duration(t.End - t.Start) }

// Goroutines returns copies of the goroutine records, in order of first
// appearance. All yields the records themselves, without copying.
func (t *Trace) Goroutines() []Goroutine {
	all := t.gs.all()
	out := make([]Goroutine, len(all))
	for i, g := range all {
		out[i] = *g
	}
	return out
}

// All yields the goroutine records, in order of first appearance.
func (t *Trace) All() iter.Seq[*Goroutine] {
	return func(yield func(*Goroutine) bool) {
		for _, g := range t.gs.all() {
			if !yield(g) {
				return
			}
		}
	}
}

// NumGoroutines reports how many goroutines the trace showed.
func (t *Trace) NumGoroutines() int { return int(t.gs.seq) }

// Goroutine returns the goroutine with that id, or nil. Records do not
// move: the pointer stays valid for the whole pass.
func (t *Trace) Goroutine(id GoID) *Goroutine { return t.gs.get(id) }

func (t *Trace) add(g Goroutine) *Goroutine { return t.gs.add(g) }

// Retain keeps the record of the goroutine with that id (when it has one)
// after it exits, for a consumer that will look it up after the pass:
// see Options.DropExited.
func (t *Trace) Retain(id GoID) {
	if t == nil {
		return
	}
	if g := t.gs.get(id); g != nil {
		g.pinned = true
	}
}

// Exited reports whether the goroutine with that id exited during the
// trace, whether its record was kept or not.
func (t *Trace) Exited(id GoID) bool {
	if g := t.gs.get(id); g != nil {
		return g.State == StateExited
	}
	if id >= 0 && id < maxExitedBits {
		i := int(id >> 6)
		return i < len(t.exitedBits) && t.exitedBits[i]&(1<<(id&63)) != 0
	}
	return t.exitedBig[id]
}

// release drops an exited goroutine's record if nothing needs it, and
// then its creators' that were kept only for it.
func (t *Trace) release(g *Goroutine) {
	for g != nil && g.State == StateExited && g.kids == 0 && !g.pinned {
		id := g.ID
		if id >= 0 && id < maxExitedBits {
			i := int(id >> 6)
			if i >= len(t.exitedBits) {
				t.exitedBits = append(t.exitedBits, make([]uint64, i+1-len(t.exitedBits)+len(t.exitedBits)/4)...)
			}
			t.exitedBits[i] |= 1 << (id & 63)
		} else {
			if t.exitedBig == nil {
				t.exitedBig = make(map[GoID]bool)
			}
			t.exitedBig[id] = true
		}
		t.dropped++
		if !g.Preexisting {
			t.droppedCreated++
		}
		t.countDropped(g)
		t.tests.note(t, g)
		var creator *Goroutine
		if g.held {
			if creator = t.gs.get(g.Creator); creator != nil {
				creator.kids--
			}
		}
		t.gs.drop(g)
		g = creator
	}
}

// Creations yields every goroutine whose record the trace keeps and that
// another created, with its creator: the creation forest of the kept
// records. The dropped goroutines are counted under their nearest kept
// ancestor instead (see DroppedUnder, Watch).
func (t *Trace) Creations() iter.Seq2[GoID, GoID] {
	return func(yield func(GoID, GoID) bool) {
		for g := range t.All() {
			if g.Creator != NoGoroutine && !yield(g.ID, g.Creator) {
				return
			}
		}
	}
}

// Counts summarizes goroutines: created during the trace, exited, and
// waiting at its end.
func (t *Trace) Counts() (created, exited, waiting int) {
	created, exited = t.droppedCreated, t.dropped
	for g := range t.All() {
		if !g.Preexisting {
			created++
		}
		switch g.State {
		case StateExited:
			exited++
		case StateWaiting:
			waiting++
		}
	}
	return
}
