package chans_test

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	exptrace "golang.org/x/exp/trace"

	"github.com/blockscope/blockscope/internal/tracetest"
	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/primitives/chans"
)

// TestTracePairing has several goroutines send and receive, and checks from
// the trace alone that the send and the receive carrying the same message
// id carried the same value.
func TestTracePairing(t *testing.T) {
	for _, capacity := range []int{0, 4} {
		t.Run(fmt.Sprintf("cap=%d", capacity), func(t *testing.T) {
			const senders, receivers, each = 3, 2, 100
			all := tracetest.Record(t, func() {
				c := chans.Make[int](capacity)
				c.SetName("pairs")
				var wg sync.WaitGroup
				for s := range senders {
					wg.Go(func() {
						for i := range each {
							v := s*each + i
							tracetest.Label(fmt.Sprintf("send %d", v)) // v's wait and send carry it
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
							// The next Recv's wait carries the value
							// of the last recv of this goroutine.
							tracetest.Label(fmt.Sprintf("recv %d", v))
						}
					})
				}
				wg.Wait()
				c.Close()
				rwg.Wait()
			})
			ls := tracetest.Named(t, all, wire.KindChan, "pairs")

			sentVal := map[uint64]int{} // message id → value, from the senders
			recvVal := map[uint64]int{} // message id → value, from the receivers
			lastRecv := map[exptrace.GoID]uint64{}
			opened := map[exptrace.GoID]uint64{} // a send's open wait: its id
			refs := map[uint64]bool{}
			closes, closedRecvs := 0, 0
			for _, l := range ls {
				switch {
				case l.Op == wire.OpWait && l.N == 2:
					k := lastRecv[l.G]
					if k == 0 {
						if l.Label != "" {
							t.Fatalf("receive of %q: no message id received before it", l.Label)
						}
						break
					}
					v := labelled(t, l, "recv ")
					if _, dup := recvVal[k]; dup {
						t.Fatalf("receive of %d: message id %d already received", v, k)
					}
					recvVal[k] = v
					delete(lastRecv, l.G)
				case l.Op == wire.OpWait && l.N == 1:
					sentVal[l.Seq] = labelled(t, l, "send ")
					opened[l.G] = l.Seq
				case l.Op == wire.OpSend:
					if k := opened[l.G]; k != l.Seq || l.N != int64(capacity) {
						t.Errorf("%q after a send wait for message %d; want send %d n=%d", l.Encode(), k, k, capacity)
					}
					delete(opened, l.G)
				case l.Op == wire.OpRecv && l.Seq == 0:
					closedRecvs++
					if closes != 1 {
						t.Errorf("recv SEQ=0 before the close event")
					}
				case l.Op == wire.OpRecv:
					if _, sent := sentVal[l.Seq]; !sent {
						t.Errorf("recv %d precedes the wait of send %d in the trace", l.Seq, l.Seq)
					}
					if refs[l.Ref] || l.N != int64(capacity) {
						t.Errorf("%q: duplicate ref or wrong n; want n=%d", l.Encode(), capacity)
					}
					refs[l.Ref] = true
					lastRecv[l.G] = l.Seq
				case l.Op == wire.OpClose:
					closes++
					if l.Seq != senders*each {
						t.Errorf("%q; want close %d", l.Encode(), senders*each)
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

// labelled returns the value in l's label, which must be prefix and an
// integer.
func labelled(t *testing.T, l tracetest.Annotation, prefix string) int {
	t.Helper()
	s, ok := strings.CutPrefix(l.Label, prefix)
	v, err := strconv.Atoi(s)
	if !ok || err != nil {
		t.Fatalf("%q written under label %q; want %q and a value", l.Encode(), l.Label, prefix)
	}
	return v
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
			all := tracetest.Record(t, func() {
				c := chans.Make[int](tt.capacity)
				c.SetName("ops")
				tt.run(c)
			})
			got := tracetest.Strings(tracetest.Named(t, all, wire.KindChan, "ops"))
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
	all := tracetest.Record(t, func() {
		c := chans.Make[string](0)
		c.SetName("rendezvous")
		done := make(chan struct{})
		go func() {
			defer close(done)
			if v, ok := c.Recv(); v != "x" || !ok {
				t.Errorf("Recv() = %q, %v; want %q, true", v, ok, "x")
			}
		}()
		tracetest.WaitParked(t, 1, "(*Chan[...]).Recv(", "chan receive")
		c.Send("x")
		<-done
	})
	evs := tracetest.Strings(tracetest.Named(t, all, wire.KindChan, "rendezvous"))
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
	all := tracetest.Record(t, func() {
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
	ls := tracetest.Named(t, all, wire.KindChan, "cap")
	waitAt := map[uint64]int{} // receive number → index of the wait it ended
	sendAt := map[uint64]int{} // message id → index of its send event
	msgOf := map[uint64]uint64{}
	lastWait := map[exptrace.GoID]int{}
	for i, l := range ls {
		switch {
		case l.Op == wire.OpWait && l.N == 2:
			lastWait[l.G] = i
		case l.Op == wire.OpRecv && l.Seq != 0:
			waitAt[l.Ref] = lastWait[l.G]
			msgOf[l.Ref] = l.Seq
		case l.Op == wire.OpSend:
			sendAt[l.Seq] = i
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
