package singleflight_test

import (
	"testing"

	"github.com/blockscope/blockscope/internal/tracetest"
	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/primitives/singleflight"
)

const ours = "blockscope/primitives/singleflight.(*Group).Do("

func TestTraceAnnotations(t *testing.T) {
	g := new(singleflight.Group)
	value := func() (any, error) { return "v", nil }
	as := tracetest.Record(t, func() {
		tracetest.Label("main")
		g.SetName("users")

		// Flight 1: a Do leader and three Do followers.
		gt := newGate()
		done := make(chan result, 4)
		spawn := func(who string, fn func() (any, error)) {
			go func() {
				tracetest.Label(who)
				v, err, shared := g.Do("k", fn)
				done <- result{v, err, shared}
			}()
		}
		spawn("leader", gt.fn("v", nil))
		tracetest.Recv(t, gt.started)
		for i, who := range []string{"f1", "f2", "f3"} {
			spawn(who, value)
			waitParked(t, i+1, ours, leaderFrame)
		}
		close(gt.open)
		for range 4 {
			tracetest.Recv(t, done)
		}
		g.Forget("k")

		// Flight 2: DoChan alone; fn runs in a goroutine of DoChan's.
		<-g.DoChan("k2", value)

		// Flight 3: a Do leader and a DoChan follower.
		gt3 := newGate()
		go func() {
			tracetest.Label("leader3")
			g.Do("k3", gt3.fn("v", nil))
		}()
		tracetest.Recv(t, gt3.started)
		r := g.DoChan("k3", value)
		close(gt3.open)
		<-r
	})

	obj := singleflight.ObjectID(g)
	as = tracetest.Of(as, obj)
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
	tracetest.CheckByLabel(t, as, want)

	// Across goroutines: a flight's lead and follows come before its
	// return, and its return before its wakes.
	returned := make(map[uint64]bool)
	for _, a := range as {
		switch a.Op {
		case wire.OpLead, wire.OpFollow:
			if returned[a.Seq] {
				t.Errorf("%s: %q after the flight's return", a.Label, a.Encode())
			}
		case wire.OpReturn:
			returned[a.Seq] = true
		case wire.OpWake:
			if !returned[a.Seq] {
				t.Errorf("%s: %q before the flight's return", a.Label, a.Encode())
			}
		}
	}
}
