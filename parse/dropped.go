package parse

import "slices"

// DroppedShown is how many of the goroutines a Dropped counts it names.
const DroppedShown = 8

// Dropped counts goroutines whose records were dropped (see
// Options.DropExited): how many, and the lowest-numbered of them. The
// trace keeps one for each kept goroutine (the dropped goroutines it is the
// nearest kept ancestor of: see Trace.DroppedUnder) and one for each
// watched goroutine that was dropped (itself and every goroutine it
// started: see Trace.Watch), in place of the dropped goroutines' creators.
type Dropped struct {
	// N is how many goroutines it counts.
	N int
	// Low are the lowest-numbered DroppedShown of them, in order.
	Low []GoID
	// up is the Dropped this one's goroutines were counted into when
	// the goroutine it belonged to was dropped.
	up *Dropped
}

// Up returns the Dropped these goroutines were counted into when the
// goroutine this one belonged to was dropped: its nearest kept ancestor's
// then (nil if none). Following Up from a goroutine's Dropped passes the
// Dropped of each kept or watched ancestor it had since.
func (d *Dropped) Up() *Dropped { return d.up }

// add counts goroutine id.
func (d *Dropped) add(id GoID) {
	d.N++
	i, _ := slices.BinarySearch(d.Low, id)
	if i < DroppedShown {
		d.Low = slices.Insert(d.Low, i, id)
		d.Low = d.Low[:min(len(d.Low), DroppedShown)]
	}
}

// merge counts o's goroutines too.
func (d *Dropped) merge(o *Dropped) {
	d.N += o.N - len(o.Low)
	for _, id := range o.Low {
		d.add(id)
	}
}

// DroppedUnder returns the count of the dropped goroutines whose nearest
// kept ancestor is the kept goroutine id: every goroutine it started,
// directly or not, whose record is gone; nil if none or if id has no
// record.
func (t *Trace) DroppedUnder(id GoID) *Dropped {
	if g := t.gs.get(id); g != nil {
		return g.below
	}
	return nil
}

// Watch asks the trace to keep, once goroutine id's record is dropped, the
// count of it and every goroutine it started (see Subtree), until Unwatch.
// It does nothing for a goroutine with no record.
func (t *Trace) Watch(id GoID) {
	if g := t.gs.get(id); g != nil {
		g.watched = true
	}
}

// Unwatch undoes Watch.
func (t *Trace) Unwatch(id GoID) {
	if g := t.gs.get(id); g != nil {
		g.watched = false
		return
	}
	delete(t.watched, id)
}

// Subtree returns, for a watched goroutine whose record was dropped, the
// count of it and every goroutine it started (all dropped with it); nil
// otherwise.
func (t *Trace) Subtree(id GoID) *Dropped {
	return t.watched[id]
}

// countDropped counts dropped goroutine g, with those it was the nearest
// kept ancestor of, into its creator's Dropped (or, if it has no record,
// nowhere), and keeps its own if it is watched.
func (t *Trace) countDropped(g *Goroutine) {
	var into *Dropped
	if c := t.gs.get(g.Creator); g.Creator != NoGoroutine && c != nil && c != g {
		if c.below == nil {
			c.below = new(Dropped)
		}
		into = c.below
	}
	s := g.below
	if g.watched {
		s = new(Dropped)
		if g.below != nil {
			s.merge(g.below)
			g.below.up = s
		}
		s.add(g.ID)
		if t.watched == nil {
			t.watched = make(map[GoID]*Dropped)
		}
		t.watched[g.ID] = s
	}
	if into == nil {
		if s != nil {
			s.up = nil
		}
		return
	}
	switch {
	case g.watched:
		into.merge(s)
	case s != nil:
		into.merge(s)
		into.add(g.ID)
	default:
		into.add(g.ID)
	}
	if s != nil {
		s.up = into
	}
}
