package hbgraph

import (
	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
)

// Annotated edges are paired by object and sequence number (see the op
// table of internal/wire). A release's event can reach the trace after the
// acquire it enabled when the two goroutines run on different Ps, so each
// pairing waits in a pending bucket, keyed by (object, slot, number), for
// whichever side comes second; a bucket that can only ever pair one
// release with one acquire is freed once it has.

// slot is the kind of pairing a bucket is for.
type slot uint8

const (
	slotLock  slot = iota + 1 // key: a write Lock's g; sources: Unlock g-1 (and, for RWMutex, RUnlocks carrying g-1)
	slotRLock                 // key: the g an RLock carries; source: Unlock g
	slotCond                  // key: a waiter's ticket; source: the Signal or Broadcast that woke it
	slotOnce                  // key: the attempt; source: its rundone
	slotWG                    // key: the epoch; sources: its Adds
	slotSema                  // key: a Release's number; targets: the Acquires whose ref names it
	slotSF                    // key: the flight; source: the leader's return
	slotRecv                  // key: message K; source: the wait of send K
	slotClose                 // key 0; source: the close
)

type pairKey struct {
	obj  wire.ObjectID
	slot slot
	key  uint64
}

type pending struct {
	src, dst []NodeID
}

// egItem is an errgroup goroutine's return or a Wait's return, with its SEQ.
type egItem struct {
	seq  uint64
	node NodeID
}

// egState pairs an errgroup's godones with its Waits' wakes: godone n
// happens before a wake whose SEQ (the number of goroutines started) is at
// least n.
type egState struct {
	done, wakes []egItem
}

// maxBroadcast bounds the tickets one Broadcast is paired with, against a
// corrupt count.
const maxBroadcast = 1 << 20

// pair records the edges an annotation of goroutine g takes part in; id
// is its node, or a selecting builder's handle for it.
func (b *Builder) pair(id NodeID, g parse.GoID, a *wire.Event) {
	k := func(s slot, key uint64) pairKey { return pairKey{a.Object, s, key} }
	switch a.Kind {
	case wire.KindMutex, wire.KindReentrant:
		reentrant := a.Kind == wire.KindReentrant
		switch a.Op {
		case wire.OpLock:
			if reentrant && a.N > 1 || a.Seq <= 1 {
				return // a re-entry, or the first Lock
			}
			b.target(k(slotLock, a.Seq), id, true)
		case wire.OpUnlock:
			if reentrant && a.N > 0 {
				return // still held
			}
			b.source(k(slotLock, a.Seq+1), id, true)
		}
	case wire.KindRWMutex:
		switch a.Op {
		case wire.OpLock:
			b.target(k(slotLock, a.Seq), id, false)
		case wire.OpUnlock:
			b.source(k(slotLock, a.Seq+1), id, false)
			b.source(k(slotRLock, a.Seq), id, false)
		case wire.OpRLock:
			if a.Seq > 0 {
				b.target(k(slotRLock, a.Seq), id, false)
			}
		case wire.OpRUnlock:
			b.source(k(slotLock, a.Seq+1), id, false)
		}
	case wire.KindCond:
		switch a.Op {
		case wire.OpSignal:
			if a.Seq > 0 {
				b.source(k(slotCond, a.Seq), id, true)
			}
		case wire.OpBroadcast:
			n := a.N
			if n > maxBroadcast {
				b.g.warn("cond#%d broadcast of %d waiters: only the first %d paired", a.Object, n, maxBroadcast)
				n = maxBroadcast
			}
			for t := a.Seq; t < a.Seq+uint64(max(n, 0)); t++ {
				b.source(k(slotCond, t), id, true)
			}
		case wire.OpWake:
			b.target(k(slotCond, a.Seq), id, true)
		}
	case wire.KindOnce, wire.KindOnceErr:
		switch a.Op {
		case wire.OpRunDone:
			b.source(k(slotOnce, a.Seq), id, false)
		case wire.OpWake:
			b.target(k(slotOnce, a.Seq), id, false)
		}
	case wire.KindWaitGroup:
		switch a.Op {
		case wire.OpAdd:
			b.source(k(slotWG, a.Seq), id, false)
		case wire.OpWake:
			b.target(k(slotWG, a.Seq), id, false)
		}
	case wire.KindSemaphore:
		switch a.Op {
		case wire.OpRelease:
			b.source(k(slotSema, a.Seq), id, false)
		case wire.OpAcquire:
			if a.Ref > 0 {
				b.target(k(slotSema, a.Ref), id, false)
			}
		}
	case wire.KindSingleflight:
		switch a.Op {
		case wire.OpReturn:
			b.source(k(slotSF, a.Seq), id, false)
		case wire.OpWake:
			b.target(k(slotSF, a.Seq), id, false)
		}
	case wire.KindErrgroup:
		b.pairErrgroup(id, a)
	case wire.KindChan:
		b.pairChan(id, g, a)
	}
}

// source adds a release-like node to its bucket, linking it to the
// targets already there. single: the bucket pairs one with one. A node a
// selecting builder does not keep (a handle below 0) only pairs with
// what is there: an edge needs a kept end, and kept nodes all come before
// those cut. (A relating builder keeps them: see Relation.)
func (b *Builder) source(k pairKey, id NodeID, single bool) {
	p := b.pairs[k]
	if p == nil {
		if !b.keeps(id) {
			return
		}
		p = &pending{}
		b.pairs[k] = p
	}
	for _, d := range p.dst {
		b.link(k, id, d)
	}
	if single && len(p.dst) > 0 {
		delete(b.pairs, k)
		return
	}
	if b.keeps(id) {
		p.src = append(p.src, b.stash(id))
	}
}

// target adds an acquire-like node to its bucket, linking the sources
// already there to it (see source).
func (b *Builder) target(k pairKey, id NodeID, single bool) {
	p := b.pairs[k]
	if p == nil {
		if !b.keeps(id) {
			return
		}
		p = &pending{}
		b.pairs[k] = p
	}
	for _, s := range p.src {
		b.link(k, s, id)
	}
	if single && len(p.src) > 0 {
		delete(b.pairs, k)
		return
	}
	if b.keeps(id) {
		p.dst = append(p.dst, b.stash(id))
	}
}

// link records the edge src → dst of a bucket.
func (b *Builder) link(k pairKey, src, dst NodeID) {
	if !b.stored(src) || !b.stored(dst) {
		b.edge(src, dst, RuleBad, wire.KindBad, k.obj) // to the cut, to a relation, or nothing
		return
	}
	n := b.g.ann(src)
	var r Rule
	switch k.slot {
	case slotLock:
		r = RuleUnlockLock
		if n.op == wire.OpRUnlock {
			r = RuleRUnlockLock
		}
	case slotRLock:
		r = RuleUnlockRLock
	case slotCond:
		r = RuleCond
	case slotOnce:
		r = RuleOnce
	case slotWG:
		r = RuleWaitGroup
	case slotSema:
		r = RuleSemaphore
	case slotSF:
		r = RuleSingleflight
	case slotRecv:
		r = RuleChanSend
	case slotClose:
		r = RuleChanClose
	}
	b.edge(src, dst, r, n.prim, k.obj)
}

func (b *Builder) pairErrgroup(id NodeID, a *wire.Event) {
	if a.Op != wire.OpGoDone && a.Op != wire.OpWake {
		return
	}
	st := b.groups[a.Object]
	if st == nil {
		if !b.keeps(id) {
			return
		}
		st = &egState{}
		b.groups[a.Object] = st
	}
	it := egItem{a.Seq, id}
	if a.Op == wire.OpGoDone {
		for _, w := range st.wakes {
			if w.seq >= it.seq {
				b.edge(id, w.node, RuleErrgroup, a.Kind, a.Object)
			}
		}
		if b.keeps(id) {
			it.node = b.stash(id)
			st.done = append(st.done, it)
		}
		return
	}
	for _, d := range st.done {
		if d.seq <= it.seq {
			b.edge(d.node, id, RuleErrgroup, a.Kind, a.Object)
		}
	}
	if b.keeps(id) {
		it.node = b.stash(id)
		st.wakes = append(st.wakes, it)
	}
}

// chanState pairs an annotated channel's receives with the sends they let
// complete: the wait of receive R happens before the send of the message
// that receive R+C got (primitives/chans). The three events it takes can
// come in any order.
type chanState struct {
	recvWait  map[parse.GoID]NodeID // goroutine → its open receive wait
	src       map[uint64]NodeID     // receive number j → the wait of receive j-C
	msgOf     map[uint64]uint64     // receive number j → the message it got
	recvOfMsg map[uint64]uint64     // message K → the receive that got it (0: none can pair)
	send      map[uint64]NodeID     // message K → its send
	// For a relating Builder (Options.Relate), the goroutines of src's
	// and send's nodes.
	srcG, sendG map[uint64]parse.GoID
}

// pairChan follows primitives/chans: the wait SEQ=K n=1 of a send happens
// before the recv SEQ=K; the close before every recv SEQ=0; and for
// capacity C the wait that recv ref=R ends (the recv itself when it had
// none) before the send of the message recv ref=R+C got.
func (b *Builder) pairChan(id NodeID, lane parse.GoID, a *wire.Event) {
	k := func(s slot, key uint64) pairKey { return pairKey{a.Object, s, key} }
	st := b.chans[a.Object]
	if st == nil {
		st = &chanState{
			recvWait: make(map[parse.GoID]NodeID), src: make(map[uint64]NodeID),
			msgOf: make(map[uint64]uint64), recvOfMsg: make(map[uint64]uint64),
			send: make(map[uint64]NodeID),
		}
		if b.sel != nil && b.sel.relate != nil {
			st.srcG, st.sendG = make(map[uint64]parse.GoID), make(map[uint64]parse.GoID)
		}
		b.chans[a.Object] = st
	}
	switch a.Op {
	case wire.OpWait:
		if a.N == 2 {
			st.recvWait[lane] = id
		} else if a.Seq > 0 {
			b.source(k(slotRecv, a.Seq), id, true)
		}
	case wire.OpCancel:
		if a.N == 2 {
			delete(st.recvWait, lane)
		} else {
			delete(b.pairs, k(slotRecv, a.Seq))
		}
	case wire.OpClose:
		b.source(k(slotClose, 0), id, false)
	case wire.OpRecv:
		w, ok := st.recvWait[lane]
		if !ok {
			w = id
		}
		delete(st.recvWait, lane)
		if a.Seq == 0 {
			b.target(k(slotClose, 0), id, false)
			return
		}
		b.target(k(slotRecv, a.Seq), id, true)
		if a.Ref == 0 || a.N < 0 {
			return
		}
		j := a.Ref + uint64(a.N)
		st.src[j] = w
		if st.srcG != nil {
			st.srcG[j] = lane // the wait is this goroutine's too
		}
		b.chanTry(st, a, j)
		if a.Ref <= uint64(a.N) {
			// No receive comes C before this one: nothing pairs with its message.
			if _, sent := st.send[a.Seq]; sent {
				delete(st.send, a.Seq)
				delete(st.sendG, a.Seq)
			} else {
				st.recvOfMsg[a.Seq] = 0
			}
			return
		}
		st.msgOf[a.Ref] = a.Seq
		st.recvOfMsg[a.Seq] = a.Ref
		b.chanTry(st, a, a.Ref)
	case wire.OpSend:
		if j, ok := st.recvOfMsg[a.Seq]; ok && j == 0 {
			delete(st.recvOfMsg, a.Seq)
			return
		}
		st.send[a.Seq] = id
		if st.sendG != nil {
			st.sendG[a.Seq] = lane
		}
		if j, ok := st.recvOfMsg[a.Seq]; ok {
			b.chanTry(st, a, j)
		}
	}
}

// chanTry links the wait of receive j-C to the send of the message receive
// j got, if all three are known.
func (b *Builder) chanTry(st *chanState, a *wire.Event, j uint64) {
	src, ok := st.src[j]
	if !ok {
		return
	}
	msg, ok := st.msgOf[j]
	if !ok {
		return
	}
	send, ok := st.send[msg]
	if !ok {
		return
	}
	if st.srcG != nil {
		b.sel.curG = st.sendG[msg]
		if src < 0 {
			b.sel.curG = st.srcG[j]
		}
		delete(st.srcG, j)
		delete(st.sendG, msg)
	}
	b.edge(src, send, RuleChanRecv, wire.KindChan, a.Object)
	delete(st.src, j)
	delete(st.msgOf, j)
	delete(st.recvOfMsg, msg)
	delete(st.send, msg)
}
