package errgroup_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	exptrace "golang.org/x/exp/trace"

	"github.com/blockscope/blockscope/internal/tracetest"
	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/primitives/errgroup"
)

// index returns the position of the first event in as with op and seq, or
// -1.
func index(as []tracetest.Annotation, op wire.Op, seq uint64) int {
	for i, a := range as {
		if a.Op == op && a.Seq == seq {
			return i
		}
	}
	return -1
}

// TestTraceLimit traces a group with limit 1 whose second Go blocks until the
// first goroutine returns an error.
func TestTraceLimit(t *testing.T) {
	var mainG, helperG exptrace.GoID
	var waitErr error
	all := tracetest.Record(t, func() {
		g, _ := errgroup.WithContext(context.Background())
		g.SetName("limited")
		g.SetLimit(1)
		release := make(chan struct{})
		g.Go(func() error {
			<-release
			return errFirst
		})
		returned := make(chan struct{})
		go func() {
			g.Go(func() error { return nil })
			close(returned)
		}()
		waitBlockedInGo(t)
		close(release)
		<-returned
		waitErr = g.Wait()
	})
	as := tracetest.Named(t, all, wire.KindErrgroup, "limited")
	if !errors.Is(waitErr, errFirst) {
		t.Fatalf("Wait() = %v; want %v", waitErr, errFirst)
	}

	// What each goroutine wrote, in its program order.
	type step struct {
		op  wire.Op
		seq uint64
		n   int64
	}
	byG := map[exptrace.GoID][]step{}
	for _, a := range as {
		byG[a.G] = append(byG[a.G], step{a.Op, a.Seq, a.N})
	}
	mainG = as[0].G
	for _, a := range as {
		if a.Op == wire.OpWait && a.N == 1 {
			helperG = a.G
		}
	}
	want := map[string]struct {
		g     exptrace.GoID
		steps []step
	}{
		"main": {mainG, []step{
			{wire.OpName, 0, 0}, {wire.OpLimit, 0, 1}, {wire.OpGo, 1, 1}, {wire.OpWait, 0, 0}, {wire.OpWake, 2, 0},
		}},
		"blocked Go": {helperG, []step{{wire.OpWait, 0, 1}, {wire.OpGo, 2, 1}}},
	}
	for name, w := range want {
		if got := byG[w.g]; !slices.Equal(got, w.steps) {
			t.Errorf("%s goroutine wrote %v; want %v", name, got, w.steps)
		}
	}
	// Each started goroutine wrote exactly its godone.
	var doneSteps [][]step
	for g, steps := range byG {
		if g != mainG && g != helperG {
			doneSteps = append(doneSteps, steps)
		}
	}
	if len(doneSteps) != 2 {
		t.Fatalf("%d other goroutines wrote events; want 2 (%v)", len(doneSteps), byG)
	}
	for _, want := range []step{{wire.OpGoDone, 1, 1}, {wire.OpGoDone, 2, 0}} {
		found := false
		for _, steps := range doneSteps {
			found = found || slices.Equal(steps, []step{want})
		}
		if !found {
			t.Errorf("no goroutine wrote exactly %v; got %v", want, doneSteps)
		}
	}

	// Cross-goroutine order: each release precedes what it enables.
	order := []struct {
		before, after wire.Op
		bseq, aseq    uint64
	}{
		{wire.OpGo, wire.OpGoDone, 1, 1},
		{wire.OpGoDone, wire.OpGo, 1, 2}, // the slot goroutine 1 freed let Go 2 proceed
		{wire.OpGoDone, wire.OpWake, 1, 2},
		{wire.OpGoDone, wire.OpWake, 2, 2},
	}
	for _, o := range order {
		b, a := index(as, o.before, o.bseq), index(as, o.after, o.aseq)
		if b < 0 || a < 0 || b > a {
			t.Errorf("%v %d at %d, %v %d at %d; want the first before the second", o.before, o.bseq, b, o.after, o.aseq, a)
		}
	}
}

// TestTraceTryGo traces TryGo that succeeds and fails, a zero group, and
// SetLimit(-1).
func TestTraceTryGo(t *testing.T) {
	var oks []bool
	all := tracetest.Record(t, func() {
		var g errgroup.Group
		g.SetName("try")
		g.SetLimit(1)
		release := make(chan struct{})
		oks = append(oks, g.TryGo(func() error {
			<-release
			return nil
		}))
		oks = append(oks, g.TryGo(func() error { return nil }))
		close(release)
		g.Wait()
		g.SetLimit(-1)
		oks = append(oks, g.TryGo(func() error { return errSecond }))
		g.Wait()
	})
	as := tracetest.Named(t, all, wire.KindErrgroup, "try")
	if want := []bool{true, false, true}; !slices.Equal(oks, want) {
		t.Fatalf("TryGo results %v; want %v", oks, want)
	}
	// A goroutine's godone may be written before or after the Wait's wait
	// event; check it separately.
	var got []string
	for _, a := range as {
		if a.Op != wire.OpGoDone {
			got = append(got, a.String())
		}
	}
	want := []string{
		`eg 0 name 0 key="try"`, "eg 0 limit 0 n=1", "eg 0 go 1 n=1", "eg 0 wait 0", "eg 0 wake 1",
		"eg 0 limit 0 n=-1", "eg 0 go 2", "eg 0 wait 0", "eg 0 wake 2",
	}
	if !slices.Equal(got, want) {
		t.Errorf("events other than godone %q; want %q", got, want)
	}
	for _, d := range []struct {
		seq uint64
		n   int64
	}{{1, 0}, {2, 1}} {
		i := index(as, wire.OpGoDone, d.seq)
		if i < 0 || as[i].N != d.n || i < index(as, wire.OpGo, d.seq) || i > index(as, wire.OpWake, d.seq) {
			t.Errorf("godone %d (n=%d) at %d in %v; want one between go %d and wake %d", d.seq, d.n, i, as, d.seq, d.seq)
		}
	}
}
