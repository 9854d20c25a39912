// Package wire is blockscope's annotation vocabulary: the user-log events that
// primitives/ write into an execution trace and parse/ reads back.
//
// # Format
//
// Every annotation is one runtime/trace user log event whose category is
// [Category] ("blockscope/v1"; the version travels in every event, so a
// flight-recorder snapshot that lost the start of the trace still decodes) and
// whose message is compact text:
//
//	KIND OBJECT OP SEQ [key=value ...]
//
// for example
//
//	mutex 7 lock 12 depth=3
//	sema 2 acquire 40 n=5 ref=39
//	sf 4 follow 9 key="user:42"
//
// KIND is the primitive ([Kinds]), OBJECT a process-unique object id (decimal,
// never 0, assigned lazily on first annotated use), OP the operation ([Ops]),
// and SEQ a per-object sequence number whose meaning the op's entry in the
// table below states; it is what lets the happens-before builder pair a
// release with the acquire it enables. The extras are optional and appear in
// the fixed order n, depth, ref, key; integers are decimal, key is a Go-quoted
// string.
//
// Each op belongs to a [Class]: a wait begins ([ClassWait]), an acquire-like
// op ends the wait its goroutine had open on that object, if any
// ([ClassAcquire]), a release-like op lets others proceed ([ClassRelease]),
// and an info op changes neither ([ClassInfo]). Every wait is bracketed by a
// ClassWait op and the ClassAcquire (or cancel) op that ends it, even one that
// spins and never parks.
//
// The decoder rejects an unknown version, kind or op, and any malformed
// message, with an error that quotes it; it never panics.
package wire

import (
	"context"
	"fmt"
	"runtime/trace"
	"strconv"
	"strings"
	"sync/atomic"
)

// Version is the wire-format version this package writes and reads.
const Version = 1

// CategoryPrefix starts the log category of every blockscope annotation, of
// any version.
const CategoryPrefix = "blockscope/v"

// Category is the log category of the annotations this version writes.
const Category = "blockscope/v1"

// ObjectID identifies one primitive object within a process.
type ObjectID uint64

// NoObject is the zero ObjectID, never assigned.
const NoObject ObjectID = 0

// Kind is the kind of primitive an event is about.
type Kind uint8

// The primitive kinds.
const (
	KindBad          Kind = iota
	KindMutex             // primitives/sync.Mutex
	KindRWMutex           // primitives/sync.RWMutex
	KindReentrant         // primitives/sync.ReentrantMutex
	KindCond              // primitives/sync.Cond
	KindOnce              // primitives/sync.Once, OnceFunc, OnceValue(s)
	KindOnceErr           // primitives/sync.OnceErr
	KindWaitGroup         // primitives/sync.WaitGroup
	KindSemaphore         // primitives/semaphore.Weighted
	KindSingleflight      // primitives/singleflight.Group
	KindErrgroup          // primitives/errgroup.Group
	KindChan              // primitives/chans.Chan
	numKinds
)

var kindNames = [numKinds]string{
	KindBad:          "bad",
	KindMutex:        "mutex",
	KindRWMutex:      "rwmutex",
	KindReentrant:    "rmutex",
	KindCond:         "cond",
	KindOnce:         "once",
	KindOnceErr:      "onceerr",
	KindWaitGroup:    "wg",
	KindSemaphore:    "sema",
	KindSingleflight: "sf",
	KindErrgroup:     "eg",
	KindChan:         "chan",
}

// Kinds lists the valid kinds, in order.
func Kinds() []Kind {
	ks := make([]Kind, 0, numKinds-1)
	for k := KindBad + 1; k < numKinds; k++ {
		ks = append(ks, k)
	}
	return ks
}

func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Class says what an op does to waiting and to happens-before.
type Class uint8

// The op classes.
const (
	ClassInfo    Class = iota // neither waits nor synchronizes
	ClassWait                 // a wait begins on the object
	ClassAcquire              // acquire-like: ends the goroutine's open wait, receives HB edges
	ClassRelease              // release-like: the source of HB edges
	ClassCancel               // a wait ends without acquiring (context cancelled, TryLock failed)
)

func (c Class) String() string {
	switch c {
	case ClassInfo:
		return "info"
	case ClassWait:
		return "wait"
	case ClassAcquire:
		return "acquire"
	case ClassRelease:
		return "release"
	case ClassCancel:
		return "cancel"
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// Op is an operation on a primitive.
type Op uint8

// The ops. The table in ops gives each its text, class and the meaning of SEQ
// and of the extras.
const (
	OpBad Op = iota
	// OpName gives the object a user-chosen name: key=NAME. SEQ is 0.
	OpName
	// OpWait: a wait begins. mutex/rwmutex/rmutex (write lock), rwmutex
	// read lock (n=1 means a reader), sema (n=weight), cond (SEQ=the
	// waiter's ticket), once (a Do blocked on f running), wg, sf follower
	// (see OpFollow), eg (Wait; n=1: a Go blocked on the limit, ended by
	// its OpGo), chan (n=1 send, SEQ = the message id k, written before the
	// message can enter the channel; n=2 receive). depth= the number of
	// waiters including this one, where known.
	OpWait
	// OpLock: a write lock acquired. SEQ = the lock's acquisition number g
	// (1, 2, ...): Unlock g happens before Lock g+1. rmutex: n = hold depth
	// after this Lock (a re-entry has n>1 and the same SEQ).
	OpLock
	// OpUnlock: a write lock released. SEQ = g of the Lock it releases.
	// rmutex: n = hold depth after this Unlock (0 = released to others).
	OpUnlock
	// OpRLock: a read lock acquired. SEQ = g of the last write Unlock
	// (0 if none): Unlock g happens before this RLock.
	OpRLock
	// OpRUnlock: a read lock released. SEQ = the g its RLock carried:
	// RUnlock happens before Lock g+1.
	OpRUnlock
	// OpStarve: a mutex entered starvation mode. depth = waiters.
	OpStarve
	// OpNormal: a mutex left starvation mode. depth = waiters.
	OpNormal
	// OpSignal: cond Signal. SEQ = the ticket it wakes (0: no waiter).
	OpSignal
	// OpBroadcast: cond Broadcast. SEQ = the first ticket woken, n = how
	// many (tickets SEQ..SEQ+n-1).
	OpBroadcast
	// OpWake: a wait returns having been released by another goroutine:
	// cond (SEQ = ticket), wg (SEQ = epoch), once (SEQ = 1), eg (Wait
	// returns; SEQ = goroutines started: GoDone 1..SEQ happen before it), sf
	// follower (SEQ = flight).
	OpWake
	// OpRun: once/onceerr: f starts in this goroutine. SEQ = attempt number.
	OpRun
	// OpRunDone: once/onceerr: f returned. SEQ = attempt number; n = 1 if it
	// completed the Once (onceerr: succeeded), 0 if onceerr will retry.
	OpRunDone
	// OpAdd: wg Add (Done is Add(-1)). SEQ = epoch (the number of times the
	// counter has returned to zero before this Add), n = delta, depth =
	// counter after. Every Add of epoch e happens before a Wake of epoch e.
	OpAdd
	// OpAcquire: sema granted. SEQ = the acquire number, n = weight, ref =
	// the SEQ of the Release that admitted a waiter (0 on the fast path).
	OpAcquire
	// OpRelease: sema release. SEQ = the release number, n = weight,
	// depth = waiters left queued.
	OpRelease
	// OpCancel: a wait ends without acquiring (sema context done, chan
	// send or receive that did not happen). n = weight; chan: n=1 send
	// (SEQ = the unused message id), n=2 receive.
	OpCancel
	// OpLead: sf: this call leads a new flight. SEQ = flight number,
	// key = the key.
	OpLead
	// OpFollow: sf: this call joins a flight in progress and waits for it.
	// SEQ = flight number, key = the key, depth = followers so far.
	OpFollow
	// OpReturn: sf: the leader's call returned. SEQ = flight number, n =
	// followers (dups), key = the key. It happens before every follower's
	// Wake with the same SEQ.
	OpReturn
	// OpForget: sf Forget(key). key = the key.
	OpForget
	// OpGo: eg Go/TryGo started a goroutine. SEQ = its number; n = limit
	// (0: none).
	OpGo
	// OpGoDone: eg: a goroutine started by Go returned. SEQ = its number,
	// n = 1 if it returned an error. Happens before the Wait's Wake.
	OpGoDone
	// OpLimit: eg SetLimit. n = the limit (-1: none).
	OpLimit
	// OpSend: chan send completed. SEQ = k, the message number (1, 2,
	// ...; an id may be skipped, see OpCancel); n = capacity. Send k
	// happens before Recv k; its OpWait SEQ=k is the point from which it
	// does and precedes Recv k in the trace, which OpSend may not.
	OpSend
	// OpRecv: chan receive completed. SEQ = k of the message received (0:
	// the channel was closed), ref = the receive number r; n = capacity.
	// For capacity C, receive r happens before send r+C completes: the
	// OpWait that receive r ended happens before the OpSend of the message
	// receive r+C got (primitives/chans documents when r is exact).
	OpRecv
	// OpClose: chan close. SEQ = the number of messages sent before it.
	// Close happens before every receive that returns because of it.
	OpClose
	numOps
)

type opInfo struct {
	name  string
	class Class
}

var ops = [numOps]opInfo{
	OpBad:       {"bad", ClassInfo},
	OpName:      {"name", ClassInfo},
	OpWait:      {"wait", ClassWait},
	OpLock:      {"lock", ClassAcquire},
	OpUnlock:    {"unlock", ClassRelease},
	OpRLock:     {"rlock", ClassAcquire},
	OpRUnlock:   {"runlock", ClassRelease},
	OpStarve:    {"starve", ClassInfo},
	OpNormal:    {"normal", ClassInfo},
	OpSignal:    {"signal", ClassRelease},
	OpBroadcast: {"broadcast", ClassRelease},
	OpWake:      {"wake", ClassAcquire},
	OpRun:       {"run", ClassInfo},
	OpRunDone:   {"rundone", ClassRelease},
	OpAdd:       {"add", ClassRelease},
	OpAcquire:   {"acquire", ClassAcquire},
	OpRelease:   {"release", ClassRelease},
	OpCancel:    {"cancel", ClassCancel},
	OpLead:      {"lead", ClassInfo},
	OpFollow:    {"follow", ClassWait},
	OpReturn:    {"return", ClassRelease},
	OpForget:    {"forget", ClassInfo},
	OpGo:        {"go", ClassInfo},
	OpGoDone:    {"godone", ClassRelease},
	OpLimit:     {"limit", ClassInfo},
	OpSend:      {"send", ClassRelease},
	OpRecv:      {"recv", ClassAcquire},
	OpClose:     {"close", ClassRelease},
}

func (o Op) String() string {
	if o < numOps {
		return ops[o].name
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

// Class reports the op's class.
func (o Op) Class() Class {
	if o < numOps {
		return ops[o].class
	}
	return ClassInfo
}

// Ops lists the valid ops, in order.
func Ops() []Op {
	os := make([]Op, 0, numOps-1)
	for o := OpBad + 1; o < numOps; o++ {
		os = append(os, o)
	}
	return os
}

// Event is one decoded annotation.
type Event struct {
	Kind   Kind
	Object ObjectID
	Op     Op
	Seq    uint64
	N      int64  // weight, delta, count, capacity: see the op
	Depth  int64  // queue depth or counter: see the op
	Ref    uint64 // the SEQ of a related op: see the op
	Key    string // singleflight key or object name
}

// Encode returns the event's message text.
func (e Event) Encode() string {
	var b [96]byte
	return string(e.Append(b[:0]))
}

// Append appends the event's message text to buf.
func (e Event) Append(buf []byte) []byte {
	buf = append(buf, e.Kind.String()...)
	buf = append(buf, ' ')
	buf = strconv.AppendUint(buf, uint64(e.Object), 10)
	buf = append(buf, ' ')
	buf = append(buf, e.Op.String()...)
	buf = append(buf, ' ')
	buf = strconv.AppendUint(buf, e.Seq, 10)
	if e.N != 0 {
		buf = append(buf, " n="...)
		buf = strconv.AppendInt(buf, e.N, 10)
	}
	if e.Depth != 0 {
		buf = append(buf, " depth="...)
		buf = strconv.AppendInt(buf, e.Depth, 10)
	}
	if e.Ref != 0 {
		buf = append(buf, " ref="...)
		buf = strconv.AppendUint(buf, e.Ref, 10)
	}
	if e.Key != "" {
		buf = append(buf, " key="...)
		buf = strconv.AppendQuote(buf, e.Key)
	}
	return buf
}

// Error is a decoding error: the category and message that could not be
// decoded, and why.
type Error struct {
	Category string
	Message  string
	Reason   string
}

func (e *Error) Error() string {
	return fmt.Sprintf("blockscope annotation %q %q: %s", e.Category, e.Message, e.Reason)
}

// IsAnnotation reports whether a log category belongs to blockscope, of any
// version. Decode reports an error for one it cannot read.
func IsAnnotation(category string) bool {
	return strings.HasPrefix(category, CategoryPrefix)
}

// Decode parses one annotation. It returns an *Error for an unknown
// version, kind or op and for a malformed message.
func Decode(category, message string) (Event, error) {
	var e Event
	fail := func(format string, args ...any) (Event, error) {
		return Event{}, &Error{Category: category, Message: message, Reason: fmt.Sprintf(format, args...)}
	}
	if category != Category {
		if IsAnnotation(category) {
			return fail("unsupported annotation version %q (this blockscope reads version %d)", strings.TrimPrefix(category, CategoryPrefix), Version)
		}
		return fail("not a blockscope annotation")
	}
	f, rest, ok := field(message)
	if !ok {
		return fail("empty message")
	}
	if e.Kind = parseKind(f); e.Kind == KindBad {
		return fail("unknown kind %q", f)
	}
	if f, rest, ok = field(rest); !ok {
		return fail("missing object id")
	}
	id, err := parseUint(f)
	if err != nil || id == 0 {
		return fail("bad object id %q", f)
	}
	e.Object = ObjectID(id)
	if f, rest, ok = field(rest); !ok {
		return fail("missing op")
	}
	if e.Op = parseOp(f); e.Op == OpBad {
		return fail("unknown op %q", f)
	}
	if f, rest, ok = field(rest); !ok {
		return fail("missing sequence number")
	}
	if e.Seq, err = parseUint(f); err != nil {
		return fail("bad sequence number %q", f)
	}
	for rest != "" {
		eq := strings.IndexByte(rest, '=')
		if eq < 0 {
			return fail("bad extra %q: want key=value", rest)
		}
		key := rest[:eq]
		rest = rest[eq+1:]
		if key == "key" {
			// A quoted string, possibly with spaces; it must end the message.
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return fail("bad key %q", rest)
			}
			if e.Key, err = strconv.Unquote(q); err != nil {
				return fail("bad key %q", q)
			}
			if rest = rest[len(q):]; rest != "" {
				return fail("trailing text %q after key", rest)
			}
			break
		}
		var val string
		val, rest, _ = field(rest)
		switch key {
		case "n":
			e.N, err = strconv.ParseInt(val, 10, 64)
		case "depth":
			e.Depth, err = strconv.ParseInt(val, 10, 64)
		case "ref":
			e.Ref, err = parseUint(val)
		default:
			return fail("unknown extra %q", key)
		}
		if err != nil {
			return fail("bad %s %q", key, val)
		}
	}
	return e, nil
}

// field splits the first space-separated field off s; false when s is
// empty.
func field(s string) (f, rest string, ok bool) {
	if s == "" {
		return "", "", false
	}
	i := strings.IndexByte(s, ' ')
	if i < 0 {
		return s, "", true
	}
	return s[:i], s[i+1:], true
}

// parseUint is strconv.ParseUint(s, 10, 64), without its error
// allocation on the common path: every annotation has two or three.
func parseUint(s string) (uint64, error) {
	if s == "" || len(s) > 19 {
		return strconv.ParseUint(s, 10, 64)
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i] - '0'
		if c > 9 {
			return strconv.ParseUint(s, 10, 64)
		}
		n = n*10 + uint64(c)
	}
	return n, nil
}

func parseKind(s string) Kind {
	for k := KindBad + 1; k < numKinds; k++ {
		if kindNames[k] == s {
			return k
		}
	}
	return KindBad
}

func parseOp(s string) Op {
	for o := OpBad + 1; o < numOps; o++ {
		if ops[o].name == s {
			return o
		}
	}
	return OpBad
}

// Enabled reports whether annotations are being recorded: whether a trace
// is being written. It costs one atomic load.
func Enabled() bool { return trace.IsEnabled() }

// Emit writes the event into the current execution trace, if one is being
// recorded. Callers check Enabled first to skip building the event.
func Emit(e Event) {
	var b [128]byte
	trace.Log(context.Background(), Category, string(e.Append(b[:0])))
}

var lastID atomic.Uint64

// Ident gives a primitive its object id. Embed it by value (its zero value
// has no id yet); the id is assigned on first use and never changes.
type Ident struct {
	id atomic.Uint64
}

// ID returns the object's id, assigning a fresh process-unique one on first
// call.
func (x *Ident) ID() ObjectID {
	if id := x.id.Load(); id != 0 {
		return ObjectID(id)
	}
	id := lastID.Add(1)
	if x.id.CompareAndSwap(0, id) {
		return ObjectID(id)
	}
	return ObjectID(x.id.Load())
}

// Name emits an OpName event naming the object, if a trace is being
// recorded.
func (x *Ident) Name(kind Kind, name string) {
	if Enabled() {
		Emit(Event{Kind: kind, Object: x.ID(), Op: OpName, Key: name})
	}
}
