package errgroup_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime/trace"
	"slices"
	"testing"

	exptrace "golang.org/x/exp/trace"

	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/primitives/errgroup"
)

// annotation is one blockscope event read back from a trace, with the
// goroutine that wrote it.
type annotation struct {
	g  exptrace.GoID
	ev wire.Event
}

// record runs f while recording an execution trace and returns the
// blockscope annotations about the object named name, in trace order.
func record(t *testing.T, name string, f func()) []annotation {
	t.Helper()
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skipf("cannot start tracing: %v", err)
	}
	f()
	trace.Stop()

	r, err := exptrace.NewReader(&buf)
	if err != nil {
		t.Fatalf("exptrace.NewReader: %v", err)
	}
	var all []annotation
	obj := wire.NoObject
	for {
		e, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("ReadEvent: %v", err)
		}
		if e.Kind() != exptrace.EventLog || e.Log().Category != wire.Category {
			continue
		}
		ev, err := wire.Decode(e.Log().Category, e.Log().Message)
		if err != nil {
			t.Fatalf("wire.Decode: %v", err)
		}
		if ev.Op == wire.OpName && ev.Key == name {
			obj = ev.Object
		}
		all = append(all, annotation{e.Goroutine(), ev})
	}
	if obj == wire.NoObject {
		t.Fatalf("no name event for %q in the trace", name)
	}
	var mine []annotation
	for _, a := range all {
		if a.ev.Object == obj {
			if a.ev.Kind != wire.KindErrgroup {
				t.Errorf("event %q has kind %v; want %v", a.ev.Encode(), a.ev.Kind, wire.KindErrgroup)
			}
			mine = append(mine, a)
		}
	}
	return mine
}

// index returns the position of the first event in as with op and seq, or
// -1.
func index(as []annotation, op wire.Op, seq uint64) int {
	for i, a := range as {
		if a.ev.Op == op && a.ev.Seq == seq {
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
	as := record(t, "limited", func() {
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
		byG[a.g] = append(byG[a.g], step{a.ev.Op, a.ev.Seq, a.ev.N})
	}
	mainG = as[0].g
	for _, a := range as {
		if a.ev.Op == wire.OpWait && a.ev.N == 1 {
			helperG = a.g
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
	as := record(t, "try", func() {
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
	if want := []bool{true, false, true}; !slices.Equal(oks, want) {
		t.Fatalf("TryGo results %v; want %v", oks, want)
	}
	// A goroutine's godone may be written before or after the Wait's wait
	// event; check it separately.
	var got []string
	for _, a := range as {
		if a.ev.Op != wire.OpGoDone {
			got = append(got, stripObject(a.ev.Encode()))
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
		if i < 0 || as[i].ev.N != d.n || i < index(as, wire.OpGo, d.seq) || i > index(as, wire.OpWake, d.seq) {
			t.Errorf("godone %d (n=%d) at %d in %v; want one between go %d and wake %d", d.seq, d.n, i, as, d.seq, d.seq)
		}
	}
}

// stripObject replaces the object id in an encoded event by 0.
func stripObject(s string) string {
	f := bytes.Fields([]byte(s))
	f[1] = []byte("0")
	return string(bytes.Join(f, []byte(" ")))
}
