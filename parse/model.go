package parse

import (
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
	EvRun                             // G started running
	EvStop                            // G stopped running without blocking (preempted, yielded, entered a syscall): Reason
	EvExit                            // G exited
	EvAnnotation                      // G emitted a primitive annotation: Annotation, Stack
)

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
	Start      Time // EvWake: when the block began
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

	goroutines []Goroutine
	// dense indexes goroutines by id, plus one (0: none), for ids below
	// maxDense; byID holds the rest. Ids are small and dense in practice,
	// and this lookup is on every event's path.
	dense []int32
	byID  map[GoID]int32

	// tests indexes the testing framework's goroutines (see TestRun).
	tests testIndex

	// BlockedByReason sums blocked time by wait reason.
	BlockedByReason map[string]time.Duration
	// Annotations counts decoded primitive annotations; BadAnnotations
	// those that did not decode (see Warnings).
	Annotations, BadAnnotations int

	// objects are the primitives' objects the annotations name.
	objects map[wire.ObjectID]*Object
}

// Duration is the trace's wall-clock span.
func (t *Trace) Duration() time.Duration { return time.Duration(t.End - t.Start) }

// Goroutines returns every goroutine seen, in order of first appearance.
func (t *Trace) Goroutines() []Goroutine { return t.goroutines }

// Goroutine returns the goroutine with that id, or nil.
func (t *Trace) Goroutine(id GoID) *Goroutine {
	if i, ok := t.index(id); ok {
		return &t.goroutines[i]
	}
	return nil
}

// maxDense bounds the ids Trace.dense indexes (4 MB of index at most).
const maxDense = 1 << 20

func (t *Trace) index(id GoID) (int32, bool) {
	if id >= 0 && id < maxDense {
		if id < GoID(len(t.dense)) && t.dense[id] > 0 {
			return t.dense[id] - 1, true
		}
		return 0, false
	}
	i, ok := t.byID[id]
	return i, ok
}

func (t *Trace) add(g Goroutine) *Goroutine {
	i := int32(len(t.goroutines))
	t.goroutines = append(t.goroutines, g)
	if id := g.ID; id >= 0 && id < maxDense {
		if id >= GoID(len(t.dense)) {
			t.dense = append(t.dense, make([]int32, int(id)+1-len(t.dense)+len(t.dense)/2)...)
		}
		t.dense[id] = i + 1
	} else {
		t.byID[id] = i
	}
	return &t.goroutines[i]
}

// Counts summarizes goroutines: created during the trace, exited, and
// waiting at its end.
func (t *Trace) Counts() (created, exited, waiting int) {
	for i := range t.goroutines {
		g := &t.goroutines[i]
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
