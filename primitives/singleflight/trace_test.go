package singleflight_test

import (
	"bytes"
	"context"
	"io"
	"runtime/trace"
	"slices"
	"testing"

	exptrace "golang.org/x/exp/trace"

	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/primitives/singleflight"
)

const ours = "blockscope/primitives/singleflight.(*Group).Do("

// annotation is one decoded annotation and the goroutine that wrote it,
// named by the label the goroutine logged first (see label; "" if none).
type annotation struct {
	who string
	ev  wire.Event
}

// label names the calling goroutine in the trace being recorded.
func label(name string) { trace.Log(context.Background(), "test", name) }

// record runs f while an execution trace is recorded and returns the
// blockscope annotations about obj(), in trace order.
func record(t *testing.T, f func(), obj func() wire.ObjectID) []annotation {
	t.Helper()
	if trace.IsEnabled() {
		t.Skip("a trace is already being recorded")
	}
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Fatalf("trace.Start: %v", err)
	}
	func() {
		defer trace.Stop()
		f()
	}()
	id := obj()

	r, err := exptrace.NewReader(&buf)
	if err != nil {
		t.Fatalf("exptrace.NewReader: %v", err)
	}
	who := make(map[exptrace.GoID]string)
	var out []annotation
	for {
		e, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("ReadEvent: %v", err)
		}
		if e.Kind() != exptrace.EventLog {
			continue
		}
		l := e.Log()
		switch l.Category {
		case "test":
			who[e.Goroutine()] = l.Message
		case wire.Category:
			ev, err := wire.Decode(l.Category, l.Message)
			if err != nil {
				t.Fatalf("wire.Decode: %v", err)
			}
			if ev.Object == id {
				out = append(out, annotation{who[e.Goroutine()], ev})
			}
		}
	}
	return out
}

func encode(evs []wire.Event) string {
	var b []byte
	for _, e := range evs {
		b = append(b, '\t')
		b = e.Append(b)
		b = append(b, '\n')
	}
	return string(b)
}

func TestTraceAnnotations(t *testing.T) {
	g := new(singleflight.Group)
	value := func() (any, error) { return "v", nil }
	as := record(t, func() {
		label("main")
		g.SetName("users")

		// Flight 1: a Do leader and three Do followers.
		gt := newGate()
		done := make(chan result, 4)
		spawn := func(who string, fn func() (any, error)) {
			go func() {
				label(who)
				v, err, shared := g.Do("k", fn)
				done <- result{v, err, shared}
			}()
		}
		spawn("leader", gt.fn("v", nil))
		recv(t, gt.started)
		for i, who := range []string{"f1", "f2", "f3"} {
			spawn(who, value)
			waitParked(t, i+1, ours, leaderFrame)
		}
		close(gt.open)
		for range 4 {
			recv(t, done)
		}
		g.Forget("k")

		// Flight 2: DoChan alone; fn runs in a goroutine of DoChan's.
		<-g.DoChan("k2", value)

		// Flight 3: a Do leader and a DoChan follower.
		gt3 := newGate()
		go func() {
			label("leader3")
			g.Do("k3", gt3.fn("v", nil))
		}()
		recv(t, gt3.started)
		r := g.DoChan("k3", value)
		close(gt3.open)
		<-r
	}, func() wire.ObjectID { return singleflight.ObjectID(g) })

	obj := singleflight.ObjectID(g)
	ev := func(op wire.Op, flight uint64, n, depth int64, key string) wire.Event {
		return wire.Event{Kind: wire.KindSingleflight, Object: obj, Op: op, Seq: flight, N: n, Depth: depth, Key: key}
	}
	want := map[string][]wire.Event{
		"main": {
			ev(wire.OpName, 0, 0, 0, "users"),
			ev(wire.OpForget, 0, 0, 0, "k"),
			ev(wire.OpFollow, 3, 0, 1, "k3"), // DoChan: no wake
		},
		"leader": {ev(wire.OpLead, 1, 0, 0, "k"), ev(wire.OpReturn, 1, 3, 0, "k")},
		"f1":     {ev(wire.OpFollow, 1, 0, 1, "k"), ev(wire.OpWake, 1, 0, 0, "")},
		"f2":     {ev(wire.OpFollow, 1, 0, 2, "k"), ev(wire.OpWake, 1, 0, 0, "")},
		"f3":     {ev(wire.OpFollow, 1, 0, 3, "k"), ev(wire.OpWake, 1, 0, 0, "")},
		// DoChan's own goroutine, which has no label.
		"":        {ev(wire.OpLead, 2, 0, 0, "k2"), ev(wire.OpReturn, 2, 0, 0, "k2")},
		"leader3": {ev(wire.OpLead, 3, 0, 0, "k3"), ev(wire.OpReturn, 3, 1, 0, "k3")},
	}
	got := make(map[string][]wire.Event)
	for _, a := range as {
		got[a.who] = append(got[a.who], a.ev)
	}
	for who, w := range want {
		if g := got[who]; !slices.Equal(g, w) {
			t.Errorf("events of %q:\n%s\nwant:\n%s", who, encode(g), encode(w))
		}
	}
	for who, g := range got {
		if _, ok := want[who]; !ok {
			t.Errorf("unexpected events of %q:\n%s", who, encode(g))
		}
	}

	// Across goroutines: a flight's lead and follows come before its
	// return, and its return before its wakes.
	returned := make(map[uint64]bool)
	for _, a := range as {
		switch a.ev.Op {
		case wire.OpLead, wire.OpFollow:
			if returned[a.ev.Seq] {
				t.Errorf("%s: %q after the flight's return", a.who, a.ev.Encode())
			}
		case wire.OpReturn:
			returned[a.ev.Seq] = true
		case wire.OpWake:
			if !returned[a.ev.Seq] {
				t.Errorf("%s: %q before the flight's return", a.who, a.ev.Encode())
			}
		}
	}
}
