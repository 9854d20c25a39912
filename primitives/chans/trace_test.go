package chans_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	exptrace "golang.org/x/exp/trace"

	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/primitives/chans"
)

// testCategory is the log category the tests write their own notes in.
const testCategory = "chans-test"

// logged is one user log event read back from a trace: a blockscope
// annotation about the object under test (note empty), or a test note.
type logged struct {
	g    exptrace.GoID
	ev   wire.Event
	note string
}

// record runs f while recording an execution trace and returns, in trace
// order, the annotations about the object named name and the test's notes.
func record(t *testing.T, name string, f func()) []logged {
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
	var all []logged
	obj := wire.NoObject
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
		switch l := e.Log(); l.Category {
		case testCategory:
			all = append(all, logged{g: e.Goroutine(), note: l.Message})
		case wire.Category:
			ev, err := wire.Decode(l.Category, l.Message)
			if err != nil {
				t.Fatalf("wire.Decode: %v", err)
			}
			if ev.Op == wire.OpName && ev.Key == name {
				obj = ev.Object
			}
			all = append(all, logged{g: e.Goroutine(), ev: ev})
		}
	}
	if obj == wire.NoObject {
		t.Fatalf("no name event for %q in the trace", name)
	}
	var mine []logged
	for _, l := range all {
		if l.note != "" || l.ev.Object == obj {
			if l.note == "" && l.ev.Kind != wire.KindChan {
				t.Errorf("event %q has kind %v; want %v", l.ev.Encode(), l.ev.Kind, wire.KindChan)
			}
			mine = append(mine, l)
		}
	}
	return mine
}

// note writes a test note into the trace.
func note(format string, args ...any) {
	trace.Log(context.Background(), testCategory, fmt.Sprintf(format, args...))
}

// encodeAll returns the encoded annotations of ls, object ids replaced by 0,
// skipping notes.
func encodeAll(ls []logged) []string {
	var out []string
	for _, l := range ls {
		if l.note == "" {
			ev := l.ev
			ev.Object = wire.NoObject
			out = append(out, ev.Encode())
		}
	}
	return out
}

// TestTracePairing has several goroutines send and receive, and checks from
// the trace alone that the send and the receive carrying the same message
// id carried the same value.
func TestTracePairing(t *testing.T) {
	for _, capacity := range []int{0, 4} {
		t.Run(fmt.Sprintf("cap=%d", capacity), func(t *testing.T) {
			const senders, receivers, each = 3, 2, 100
			ls := record(t, "pairs", func() {
				c := chans.Make[int](capacity)
				c.SetName("pairs")
				var wg sync.WaitGroup
				for s := range senders {
					wg.Go(func() {
						for i := range each {
							v := s*each + i
							note("send %d", v) // the next wait n=1 of this goroutine is v's
							c.Send(v)
						}
					})
				}
				var rwg sync.WaitGroup
				for range receivers {
					rwg.Go(func() {
						for {
							v, ok := c.Recv()
							if !ok {
								return
							}
							note("recv %d", v) // the last recv of this goroutine was v's
						}
					})
				}
				wg.Wait()
				c.Close()
				rwg.Wait()
			})

			sentVal := map[uint64]int{} // message id → value, from the senders
			recvVal := map[uint64]int{} // message id → value, from the receivers
			pending := map[exptrace.GoID]int{}
			lastRecv := map[exptrace.GoID]uint64{}
			opened := map[exptrace.GoID]uint64{} // a send's open wait: its id
			refs := map[uint64]bool{}
			closes, closedRecvs := 0, 0
			for _, l := range ls {
				var v int
				switch {
				case strings.HasPrefix(l.note, "send "):
					v, _ = strconv.Atoi(strings.TrimPrefix(l.note, "send "))
					pending[l.g] = v
				case strings.HasPrefix(l.note, "recv "):
					v, _ = strconv.Atoi(strings.TrimPrefix(l.note, "recv "))
					k := lastRecv[l.g]
					if _, dup := recvVal[k]; dup || k == 0 {
						t.Fatalf("receive of %d: message id %d already received or missing", v, k)
					}
					recvVal[k] = v
				case l.ev.Op == wire.OpWait && l.ev.N == 1:
					sentVal[l.ev.Seq] = pending[l.g]
					opened[l.g] = l.ev.Seq
				case l.ev.Op == wire.OpSend:
					if k := opened[l.g]; k != l.ev.Seq || l.ev.N != int64(capacity) {
						t.Errorf("%q after a send wait for message %d; want send %d n=%d", l.ev.Encode(), k, k, capacity)
					}
					delete(opened, l.g)
				case l.ev.Op == wire.OpRecv && l.ev.Seq == 0:
					closedRecvs++
					if closes != 1 {
						t.Errorf("recv SEQ=0 before the close event")
					}
				case l.ev.Op == wire.OpRecv:
					if _, sent := sentVal[l.ev.Seq]; !sent {
						t.Errorf("recv %d precedes the wait of send %d in the trace", l.ev.Seq, l.ev.Seq)
					}
					if refs[l.ev.Ref] || l.ev.N != int64(capacity) {
						t.Errorf("%q: duplicate ref or wrong n; want n=%d", l.ev.Encode(), capacity)
					}
					refs[l.ev.Ref] = true
					lastRecv[l.g] = l.ev.Seq
				case l.ev.Op == wire.OpClose:
					closes++
					if l.ev.Seq != senders*each {
						t.Errorf("%q; want close %d", l.ev.Encode(), senders*each)
					}
				}
			}
			if len(sentVal) != senders*each || len(recvVal) != senders*each {
				t.Fatalf("%d sends and %d receives annotated; want %d of each", len(sentVal), len(recvVal), senders*each)
			}
			for k, v := range sentVal {
				if recvVal[k] != v {
					t.Errorf("message %d: sent %d, received %d", k, v, recvVal[k])
				}
			}
			for r := uint64(1); r <= senders*each; r++ {
				if !refs[r] {
					t.Errorf("no receive with ref=%d", r)
				}
			}
			if len(opened) != 0 || closes != 1 || closedRecvs != receivers {
				t.Errorf("open send waits %v, %d closes, %d closed receives; want none, 1, %d", opened, closes, closedRecvs, receivers)
			}
		})
	}
}

// TestTraceOps checks the exact events of single-goroutine sequences.
func TestTraceOps(t *testing.T) {
	tests := []struct {
		name     string
		capacity int
		run      func(c *chans.Chan[int])
		want     []string
	}{
		{
			name:     "send recv close",
			capacity: 2,
			run: func(c *chans.Chan[int]) {
				c.Send(10)
				c.Send(20)
				c.Close()
				c.Recv()
				c.Recv()
				c.Recv()
			},
			want: []string{
				"chan 0 wait 1 n=1", "chan 0 send 1 n=2",
				"chan 0 wait 2 n=1", "chan 0 send 2 n=2",
				"chan 0 close 2",
				"chan 0 wait 0 n=2", "chan 0 recv 1 n=2 ref=1",
				"chan 0 wait 0 n=2", "chan 0 recv 2 n=2 ref=2",
				"chan 0 wait 0 n=2", "chan 0 recv 0 n=2",
			},
		},
		{
			name:     "try",
			capacity: 1,
			run: func(c *chans.Chan[int]) {
				c.TryRecv()
				c.TrySend(1)
				c.TrySend(2)
				c.TryRecv()
				c.Close()
				c.TryRecv()
			},
			want: []string{
				"chan 0 wait 0 n=2", "chan 0 cancel 0 n=2",
				"chan 0 wait 1 n=1", "chan 0 send 1 n=1",
				"chan 0 wait 2 n=1", "chan 0 cancel 2 n=1",
				"chan 0 wait 0 n=2", "chan 0 recv 1 n=1 ref=1",
				"chan 0 close 1",
				"chan 0 wait 0 n=2", "chan 0 recv 0 n=1",
			},
		},
		{
			name:     "send on closed",
			capacity: 1,
			run: func(c *chans.Chan[int]) {
				c.Send(1)
				c.Close()
				catch(func() { c.Send(2) })
				catch(func() { c.TrySend(3) })
				catch(c.Close)
			},
			want: []string{
				"chan 0 wait 1 n=1", "chan 0 send 1 n=1",
				"chan 0 close 1",
				"chan 0 wait 2 n=1", "chan 0 cancel 2 n=1",
				"chan 0 wait 3 n=1", "chan 0 cancel 3 n=1",
			},
		},
		{
			name:     "select",
			capacity: 1,
			run: func(c *chans.Chan[int]) {
				never := make(chan struct{})
				closed := make(chan struct{})
				close(closed)
				m := c.Prepare(1)
				select {
				case c.SendChan() <- m:
					c.Sent(m)
				case <-never:
				}
				m = c.Prepare(2)
				select {
				case c.SendChan() <- m:
				case <-closed:
					c.Unsent(m)
				}
				select {
				case m, ok := <-c.RecvChan():
					c.Received(m, ok)
				case <-never:
				}
				c.Close()
				select {
				case m, ok := <-c.RecvChan():
					c.Received(m, ok)
				case <-never:
				}
			},
			want: []string{
				"chan 0 wait 1 n=1", "chan 0 send 1 n=1",
				"chan 0 wait 2 n=1", "chan 0 cancel 2 n=1",
				"chan 0 recv 1 n=1 ref=1",
				"chan 0 close 1",
				"chan 0 recv 0 n=1",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls := record(t, "ops", func() {
				c := chans.Make[int](tt.capacity)
				c.SetName("ops")
				tt.run(c)
			})
			got := encodeAll(ls)
			want := append([]string{`chan 0 name 0 key="ops"`}, tt.want...)
			if !slices.Equal(got, want) {
				t.Errorf("events\n%q\nwant\n%q", got, want)
			}
		})
	}
}

// TestTraceUnbuffered checks that on an unbuffered Chan the receive of a
// message and the completion of its send carry the same id, and that a
// receiver blocked before the send opened its wait first.
func TestTraceUnbuffered(t *testing.T) {
	ls := record(t, "rendezvous", func() {
		c := chans.Make[string](0)
		c.SetName("rendezvous")
		done := make(chan struct{})
		go func() {
			defer close(done)
			if v, ok := c.Recv(); v != "x" || !ok {
				t.Errorf("Recv() = %q, %v; want %q, true", v, ok, "x")
			}
		}()
		waitBlocked(t, "[chan receive", "(*Chan[...]).Recv(")
		c.Send("x")
		<-done
	})
	evs := encodeAll(ls)
	idx := func(s string) int { return slices.Index(evs, s) }
	recvWait, sendWait, send, recv := idx("chan 0 wait 0 n=2"), idx("chan 0 wait 1 n=1"), idx("chan 0 send 1"), idx("chan 0 recv 1 ref=1")
	if recvWait < 0 || sendWait < 0 || send < 0 || recv < 0 || recvWait > sendWait || sendWait > recv || sendWait > send {
		t.Errorf("events %q; want the receiver's wait, then the send's wait, then send 1 and recv 1 ref=1", evs)
	}
}

// TestTraceCapacity checks the capacity rule on a buffered Chan with one
// receiver: the wait that receive R ends precedes, in the trace, the send
// event of the message receive R+C got.
func TestTraceCapacity(t *testing.T) {
	const capacity, n = 2, 50
	ls := record(t, "cap", func() {
		c := chans.Make[int](capacity)
		c.SetName("cap")
		go func() {
			for i := range n {
				c.Send(i)
			}
			c.Close()
		}()
		for range c.All() {
		}
	})
	waitAt := map[uint64]int{} // receive number → index of the wait it ended
	sendAt := map[uint64]int{} // message id → index of its send event
	msgOf := map[uint64]uint64{}
	lastWait := map[exptrace.GoID]int{}
	for i, l := range ls {
		switch {
		case l.ev.Op == wire.OpWait && l.ev.N == 2:
			lastWait[l.g] = i
		case l.ev.Op == wire.OpRecv && l.ev.Seq != 0:
			waitAt[l.ev.Ref] = lastWait[l.g]
			msgOf[l.ev.Ref] = l.ev.Seq
		case l.ev.Op == wire.OpSend:
			sendAt[l.ev.Seq] = i
		}
	}
	if len(waitAt) != n || len(sendAt) != n {
		t.Fatalf("%d receives and %d sends annotated; want %d", len(waitAt), len(sendAt), n)
	}
	for r := uint64(1); r+capacity <= n; r++ {
		if w, s := waitAt[r], sendAt[msgOf[r+capacity]]; w > s {
			t.Errorf("receive %d's wait at %d follows the send of message %d (receive %d) at %d", r, w, msgOf[r+capacity], r+capacity, s)
		}
	}
}
