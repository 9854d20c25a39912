package detect

import (
	"cmp"
	"slices"
	"sort"

	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
)

// How the deadlock detector keeps its memory to live state: a server that
// makes a WaitGroup per request makes millions of objects, and every
// request locks the same few global ones. Two rules, each exact for every
// verdict:
//
//   - An object's user that exited, leaving no goroutine it started alive
//     (its record dropped: parse.Options.DropExited), can only ever count
//     as dead, and so can every goroutine it started. Past dlForgetUsers
//     users, such users are forgotten: counted, and the lowest-numbered
//     dlGoneShown kept with their stacks, for the findings that name them.
//     A finding then counts them but not the goroutines they started.
//   - An object nothing holds (no lock, weight, running f, flight,
//     errgroup goroutine, unmatched unlock, WaitGroup count; not a Cond's
//     Locker) whose users are all gone for good (so none waits on it) is
//     itself forgotten, when the objects tracked reach
//     dlForgetObjects (then twice the number kept). Used again, it starts
//     afresh, with what its verdicts rest on restored from a few bits kept
//     per range of ids (see dlForgotten): whether the trace saw it from its
//     first use, whether it was handed off, and its name; a finding on it
//     then names only the goroutines that used it since.
var (
	dlForgetUsers   = 64
	dlForgetObjects = 1024
)

// dlForgotten is a range of forgotten objects' ids sharing their flags.
type dlForgotten struct {
	lo, hi wire.ObjectID
	flags  uint8
}

const (
	dlForgotComplete uint8 = 1 << iota // seen from its first use
	dlForgotHandoff                    // released by a goroutine that did not take it
)

// goneForever reports whether goroutine g exited and every goroutine it
// started did too: its record is gone (see parse.Options.DropExited).
func (d *deadlock) goneForever(t *parse.Trace, g parse.GoID) bool {
	if d.goneHook != nil {
		return d.goneHook(g)
	}
	return t != nil && t.Exited(g) && t.Goroutine(g) == nil
}

// use records g as a user of o, forgetting the users gone for good when
// they are many.
func (d *deadlock) use(t *parse.Trace, o *dlObject, g parse.GoID, stack parse.StackID) {
	if o.users == nil {
		o.users = make(map[parse.GoID]parse.StackID)
	}
	if _, ok := o.users[g]; !ok {
		if len(o.users) >= max(o.pruneAt, dlForgetUsers) {
			d.pruneUsers(t, o)
		}
		d.watch(t, g, 1)
	}
	o.users[g] = stack
}

// watch counts n more (or fewer) objects g is a user of: while it is
// one, the trace keeps the count of the goroutines it started once they
// are dropped (parse.Trace.Watch), for the findings that count them.
func (d *deadlock) watch(t *parse.Trace, g parse.GoID, n int) {
	if t == nil {
		return
	}
	if d.watching == nil {
		d.watching = make(map[parse.GoID]int)
	}
	before := d.watching[g]
	switch after := before + n; {
	case after <= 0:
		delete(d.watching, g)
		t.Unwatch(g)
	case before == 0:
		d.watching[g] = after
		t.Watch(g)
	default:
		d.watching[g] = after
	}
}

// pruneUsers forgets o's users that are gone for good.
func (d *deadlock) pruneUsers(t *parse.Trace, o *dlObject) {
	for g, st := range o.users {
		if !d.goneForever(t, g) {
			continue
		}
		delete(o.users, g)
		o.gone++
		i, _ := slices.BinarySearchFunc(o.goneFirst, g, func(u dlUser, g parse.GoID) int { return cmp.Compare(u.g, g) })
		if i < dlGoneShown {
			u := dlUser{g: g, stack: st}
			if t != nil {
				u.below = t.Subtree(g)
			}
			o.goneFirst = slices.Insert(o.goneFirst, i, u)
			o.goneFirst = o.goneFirst[:min(len(o.goneFirst), dlGoneShown)]
		}
		d.watch(t, g, -1)
	}
	o.pruneAt = 2 * len(o.users)
}

// userStack returns the stack of h's last annotation on o, forgotten
// users included.
func (o *dlObject) userStack(h parse.GoID) (parse.StackID, bool) {
	if st, ok := o.users[h]; ok {
		return st, true
	}
	for _, u := range o.goneFirst {
		if u.g == h {
			return u.stack, true
		}
	}
	return parse.NoStack, false
}

// idle reports whether nothing holds o, so that its verdicts rest only on
// its users and flags. A goroutine waiting on o is one of its users.
func (o *dlObject) idle() bool {
	return len(o.slots) == 0 && len(o.early) == 0 && len(o.shares) == 0 &&
		o.condRefs == 0 && (o.kind != wire.KindWaitGroup || o.counter == 0)
}

// sweep forgets the objects that are idle and whose users are all gone
// for good.
func (d *deadlock) sweep(t *parse.Trace) {
	var out []dlForgotten
	for id, o := range d.objs {
		if !o.idle() || !d.usersGone(t, o) {
			continue
		}
		var flags uint8
		if o.kind == wire.KindErrgroup && !o.partial && o.goCount == o.goMax || o.kind != wire.KindErrgroup && o.complete() {
			flags |= dlForgotComplete
		}
		if o.handoff {
			flags |= dlForgotHandoff
		}
		if o.name != "" {
			if d.names == nil {
				d.names = make(map[wire.ObjectID]string)
			}
			d.names[id] = o.name
		}
		for _, l := range o.locks {
			l.condRefs--
		}
		for g := range o.users {
			d.watch(t, g, -1)
		}
		delete(d.objs, id)
		out = append(out, dlForgotten{id, id, flags})
	}
	d.sweepAt = max(dlForgetObjects, 2*len(d.objs))
	if len(out) == 0 {
		return
	}
	slices.SortFunc(out, func(a, b dlForgotten) int { return cmp.Compare(a.lo, b.lo) })
	// Merge the two sorted lists, joining neighbours with equal flags.
	merged := make([]dlForgotten, 0, len(d.forgotten)+len(out))
	add := func(f dlForgotten) {
		if n := len(merged); n > 0 && merged[n-1].hi+1 == f.lo && merged[n-1].flags == f.flags {
			merged[n-1].hi = f.hi
			return
		}
		merged = append(merged, f)
	}
	i, j := 0, 0
	for i < len(d.forgotten) || j < len(out) {
		if j == len(out) || i < len(d.forgotten) && d.forgotten[i].lo < out[j].lo {
			add(d.forgotten[i])
			i++
		} else {
			add(out[j])
			j++
		}
	}
	d.forgotten = merged
}

// usersGone reports whether every user of o is gone for good.
func (d *deadlock) usersGone(t *parse.Trace, o *dlObject) bool {
	for g := range o.users {
		if !d.goneForever(t, g) {
			return false
		}
	}
	return true
}

// remember restores what a new object's verdicts need if it was
// forgotten, and takes it out of the forgotten ranges.
func (d *deadlock) remember(o *dlObject) {
	i := sort.Search(len(d.forgotten), func(i int) bool { return d.forgotten[i].hi >= o.id })
	if i == len(d.forgotten) || d.forgotten[i].lo > o.id {
		return
	}
	f := d.forgotten[i]
	if f.flags&dlForgotComplete == 0 {
		o.partial = true
	} else {
		o.minSeq, o.firstSeen = 1, true
		o.regroup = o.kind == wire.KindErrgroup
	}
	o.handoff = f.flags&dlForgotHandoff != 0
	if name, ok := d.names[o.id]; ok {
		o.name = name
		delete(d.names, o.id)
	}
	// Split the range around the id.
	var parts []dlForgotten
	if f.lo < o.id {
		parts = append(parts, dlForgotten{f.lo, o.id - 1, f.flags})
	}
	if o.id < f.hi {
		parts = append(parts, dlForgotten{o.id + 1, f.hi, f.flags})
	}
	d.forgotten = slices.Replace(d.forgotten, i, i+1, parts...)
}
