package semaphore_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	xsemaphore "golang.org/x/sync/semaphore"

	"github.com/blockscope/blockscope/internal/tracetest"
	"github.com/blockscope/blockscope/primitives/semaphore"
)

// weighted is what both implementations offer.
type weighted interface {
	Acquire(ctx context.Context, n int64) error
	TryAcquire(n int64) bool
	Release(n int64)
}

// impl is one implementation under test: every behavioural test runs
// against golang.org/x/sync/semaphore and against ours, so the two are held
// to the same expectations.
type impl struct {
	name    string
	new     func(n int64) weighted
	acquire string // the Acquire frame in a goroutine dump
}

var impls = []impl{
	{
		name:    "xsync",
		new:     func(n int64) weighted { return xsemaphore.NewWeighted(n) },
		acquire: "golang.org/x/sync/semaphore.(*Weighted).Acquire(",
	},
	{
		name:    "ours",
		new:     func(n int64) weighted { return semaphore.NewWeighted(n) },
		acquire: "blockscope/primitives/semaphore.(*Weighted).Acquire(",
	},
}

// acquireAsync calls Acquire in a new goroutine and sends its result.
func acquireAsync(ctx context.Context, s weighted, name string, n int64) <-chan result {
	ch := make(chan result, 1)
	go func() { ch <- result{name, s.Acquire(ctx, n)} }()
	return ch
}

func TestTryAcquire(t *testing.T) {
	type step struct {
		release int64 // if nonzero, Release(release) instead of TryAcquire
		n       int64
		want    bool
	}
	tests := []struct {
		name  string
		size  int64
		steps []step
	}{
		{"fill", 3, []step{{n: 1, want: true}, {n: 2, want: true}, {n: 1, want: false}, {n: 0, want: true}}},
		{"release makes room", 3, []step{{n: 3, want: true}, {n: 2, want: false}, {release: 2}, {n: 2, want: true}, {n: 1, want: false}}},
		{"larger than size", 2, []step{{n: 3, want: false}, {n: 2, want: true}}},
		{"zero size", 0, []step{{n: 1, want: false}, {n: 0, want: true}}},
	}
	for _, im := range impls {
		for _, tt := range tests {
			t.Run(im.name+"/"+tt.name, func(t *testing.T) {
				s := im.new(tt.size)
				for i, st := range tt.steps {
					if st.release != 0 {
						s.Release(st.release)
						continue
					}
					if got := s.TryAcquire(st.n); got != st.want {
						t.Fatalf("step %d: TryAcquire(%d) = %v; want %v", i, st.n, got, st.want)
					}
				}
			})
		}
	}
}

func TestAcquireDoneContext(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancel2 := context.WithTimeout(context.Background(), -1)
	defer cancel2()
	tests := []struct {
		name string
		ctx  context.Context
		n    int64
		want error
	}{
		// x/sync v0.25.0 fails an Acquire whose context is already done
		// even when the weight is free.
		{"cancelled, free", cancelled, 1, context.Canceled},
		{"cancelled, zero weight", cancelled, 0, context.Canceled},
		{"expired, free", expired, 2, context.DeadlineExceeded},
		{"cancelled, too large", cancelled, 3, context.Canceled},
		{"live", context.Background(), 2, nil},
	}
	for _, im := range impls {
		for _, tt := range tests {
			t.Run(im.name+"/"+tt.name, func(t *testing.T) {
				s := im.new(2)
				err := s.Acquire(tt.ctx, tt.n)
				if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
					t.Fatalf("Acquire(%v, %d) = %v; want %v", tt.ctx, tt.n, err, tt.want)
				}
				if err == nil {
					s.Release(tt.n)
				}
				// A failed Acquire leaves the semaphore unchanged.
				if !s.TryAcquire(2) {
					t.Fatalf("TryAcquire(2) after Acquire = false; want true")
				}
			})
		}
	}
}

// TestFIFO pins the queue discipline: a large waiter at the head holds back
// a smaller one behind it even when the smaller one would fit.
func TestFIFO(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			s := im.new(2)
			if err := s.Acquire(context.Background(), 1); err != nil {
				t.Fatalf("Acquire(1) = %v; want nil", err)
			}
			large := acquireAsync(context.Background(), s, "large", 2)
			waitParked(t, 1, im.acquire)
			small := acquireAsync(context.Background(), s, "small", 1)
			waitParked(t, 2, im.acquire)

			// One unit is free, but the large waiter is first.
			assertEmpty(t, small, "small Acquire(1) behind Acquire(2)")
			if s.TryAcquire(1) {
				t.Fatalf("TryAcquire(1) with a waiter queued = true; want false")
			}

			s.Release(1)
			if r := tracetest.Recv(t, large); r.err != nil {
				t.Fatalf("large Acquire(2) = %v; want nil", r.err)
			}
			waitParked(t, 1, im.acquire)
			assertEmpty(t, small, "small Acquire(1) while Acquire(2) holds all")

			s.Release(2)
			if r := tracetest.Recv(t, small); r.err != nil {
				t.Fatalf("small Acquire(1) = %v; want nil", r.err)
			}
			s.Release(1)
		})
	}
}

// TestReleaseAdmitsInOrder checks that one Release admits every waiter at
// the head that fits, and stops at the first that does not.
func TestReleaseAdmitsInOrder(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			s := im.new(4)
			if !s.TryAcquire(4) {
				t.Fatalf("TryAcquire(4) = false; want true")
			}
			var chans []<-chan result
			for i, n := range []int64{1, 2, 3, 1} {
				chans = append(chans, acquireAsync(context.Background(), s, fmt.Sprint(n), n))
				waitParked(t, i+1, im.acquire)
			}
			s.Release(4) // admits 1 and 2; 3 does not fit; the last 1 waits behind it
			for _, ch := range chans[:2] {
				if r := tracetest.Recv(t, ch); r.err != nil {
					t.Fatalf("Acquire(%s) = %v; want nil", r.name, r.err)
				}
			}
			waitParked(t, 2, im.acquire)
			assertEmpty(t, chans[2], "Acquire(3) with 1 free")
			assertEmpty(t, chans[3], "Acquire(1) behind Acquire(3)")
			s.Release(3) // 4 free: admits 3 and the last 1
			for _, ch := range chans[2:] {
				if r := tracetest.Recv(t, ch); r.err != nil {
					t.Fatalf("Acquire(%s) = %v; want nil", r.name, r.err)
				}
			}
			s.Release(4)
			if !s.TryAcquire(4) {
				t.Fatalf("TryAcquire(4) at the end = false; want true")
			}
		})
	}
}

// TestCancel covers a waiter whose context is cancelled: it fails with the
// context's error, leaves the queue, and, if it was at the head, lets in
// the waiters behind it that now fit.
func TestCancel(t *testing.T) {
	tests := []struct {
		name     string
		size     int64
		held     int64
		queue    []int64 // weights queued in order
		cancel   int     // index in queue of the waiter cancelled
		admitted []int   // indices admitted by the cancellation alone
	}{
		{"front, followers fit", 2, 1, []int64{2, 1}, 0, []int{1}},
		{"front, nothing free", 2, 2, []int64{2, 1}, 0, nil},
		{"front, some followers fit", 3, 1, []int64{3, 1, 1, 2}, 0, []int{1, 2}},
		{"middle", 2, 2, []int64{1, 2, 1}, 1, nil},
		{"last", 2, 1, []int64{2, 1}, 1, nil},
	}
	for _, im := range impls {
		for _, tt := range tests {
			t.Run(im.name+"/"+tt.name, func(t *testing.T) {
				s := im.new(tt.size)
				if !s.TryAcquire(tt.held) {
					t.Fatalf("TryAcquire(%d) = false; want true", tt.held)
				}
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var chans []<-chan result
				for i, n := range tt.queue {
					c := context.Background()
					if i == tt.cancel {
						c = ctx
					}
					chans = append(chans, acquireAsync(c, s, fmt.Sprint(i), n))
					waitParked(t, i+1, im.acquire)
				}
				cancel()
				if r := tracetest.Recv(t, chans[tt.cancel]); !errors.Is(r.err, context.Canceled) {
					t.Fatalf("cancelled Acquire(%d) = %v; want %v", tt.queue[tt.cancel], r.err, context.Canceled)
				}
				held := tt.held
				for _, i := range tt.admitted {
					if r := tracetest.Recv(t, chans[i]); r.err != nil {
						t.Fatalf("Acquire(%d) after cancel = %v; want nil", tt.queue[i], r.err)
					}
					held += tt.queue[i]
				}
				rest := len(tt.queue) - 1 - len(tt.admitted)
				waitParked(t, rest, im.acquire)
				// Drain: release everything held and check the rest get in.
				s.Release(held)
				for i, ch := range chans {
					if i == tt.cancel || contains(tt.admitted, i) {
						continue
					}
					if r := tracetest.Recv(t, ch); r.err != nil {
						t.Fatalf("Acquire(%d) after Release = %v; want nil", tt.queue[i], r.err)
					}
					s.Release(tt.queue[i])
				}
				if !s.TryAcquire(tt.size) {
					t.Fatalf("TryAcquire(%d) at the end = false; want true", tt.size)
				}
			})
		}
	}
}

func contains(s []int, x int) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// TestAcquireLargerThanSize checks that a request larger than the size
// blocks until its context is done, without holding back others.
func TestAcquireLargerThanSize(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			s := im.new(2)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			big := acquireAsync(ctx, s, "big", 3)
			waitParked(t, 1, im.acquire)
			if !s.TryAcquire(2) {
				t.Fatalf("TryAcquire(2) beside a blocked Acquire(3) = false; want true")
			}
			s.Release(2)
			if err := s.Acquire(context.Background(), 2); err != nil {
				t.Fatalf("Acquire(2) beside a blocked Acquire(3) = %v; want nil", err)
			}
			s.Release(2)
			assertEmpty(t, big, "Acquire(3) on a semaphore of size 2")
			cancel()
			if r := tracetest.Recv(t, big); !errors.Is(r.err, context.Canceled) {
				t.Fatalf("Acquire(3) = %v; want %v", r.err, context.Canceled)
			}
		})
	}
}

// TestAdmittedThenCancelled drives the race between a Release admitting a
// waiter and the waiter's context becoming done. Whichever wins, the weight
// must end up accounted for: either the waiter holds it, or it is handed on
// to the next waiter.
func TestAdmittedThenCancelled(t *testing.T) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			var handedOn int
			for range 50 {
				s := im.new(1)
				if !s.TryAcquire(1) {
					t.Fatalf("TryAcquire(1) = false; want true")
				}
				ctx, cancel := context.WithCancel(context.Background())
				first := acquireAsync(ctx, s, "first", 1)
				waitParked(t, 1, im.acquire)
				next := acquireAsync(context.Background(), s, "next", 1)
				waitParked(t, 2, im.acquire)
				s.Release(1)
				cancel()
				r := tracetest.Recv(t, first)
				switch {
				case r.err == nil:
					assertEmpty(t, next, "Acquire(1) while the first waiter holds the weight")
					s.Release(1)
				case errors.Is(r.err, context.Canceled):
					handedOn++
				default:
					t.Fatalf("first Acquire(1) = %v; want nil or %v", r.err, context.Canceled)
				}
				if r := tracetest.Recv(t, next); r.err != nil {
					t.Fatalf("next Acquire(1) = %v; want nil", r.err)
				}
				s.Release(1)
				if !s.TryAcquire(1) {
					t.Fatalf("TryAcquire(1) at the end = false; want true")
				}
			}
			t.Logf("weight handed on by a cancelled waiter in %d of 50 runs", handedOn)
		})
	}
}

func TestPanics(t *testing.T) {
	tests := []struct {
		name string
		f    func(s weighted)
		want string
	}{
		{"release unheld", func(s weighted) { s.Release(1) }, "semaphore: released more than held"},
		{"release more than acquired", func(s weighted) { s.TryAcquire(1); s.Release(2) }, "semaphore: released more than held"},
		{"release negative", func(s weighted) { s.Release(-1) }, "semaphore: n < 0"},
		{"acquire negative", func(s weighted) { s.Acquire(context.Background(), -1) }, "semaphore: n < 0"},
		{"try negative", func(s weighted) { s.TryAcquire(-1) }, "semaphore: n < 0"},
	}
	for _, im := range impls {
		for _, tt := range tests {
			t.Run(im.name+"/"+tt.name, func(t *testing.T) {
				s := im.new(2)
				if got := panicValue(func() { tt.f(s) }); got != tt.want {
					t.Fatalf("panic = %v; want %q", got, tt.want)
				}
			})
		}
		t.Run(im.name+"/negative size", func(t *testing.T) {
			if got, want := panicValue(func() { im.new(-1) }), "semaphore: size < 0"; got != want {
				t.Fatalf("NewWeighted(-1) panic = %v; want %q", got, want)
			}
		})
	}
}

func panicValue(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}

// TestStress runs many goroutines acquiring random weights, some with
// contexts that are cancelled at random moments, and checks that the
// weight held never exceeds the size and that all of it comes back.
func TestStress(t *testing.T) {
	const (
		size       = 6
		goroutines = 32
		iterations = 300
	)
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			s := im.new(size)
			var held atomic.Int64
			var acquired, failed atomic.Int64
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(g), 1))
					for range iterations {
						n := rng.Int64N(size) + 1
						var ok bool
						switch rng.IntN(4) {
						case 0:
							ok = s.TryAcquire(n)
						case 1:
							ctx, cancel := context.WithCancel(context.Background())
							if rng.IntN(2) == 0 {
								go cancel()
							} else {
								cancel()
							}
							ok = s.Acquire(ctx, n) == nil
							cancel()
						default:
							ok = s.Acquire(context.Background(), n) == nil
						}
						if !ok {
							failed.Add(1)
							continue
						}
						acquired.Add(1)
						if h := held.Add(n); h > size {
							t.Errorf("weight held = %d; want at most %d", h, size)
						}
						held.Add(-n)
						s.Release(n)
					}
				}()
			}
			wg.Wait()
			if !s.TryAcquire(size) {
				t.Fatalf("TryAcquire(%d) after the stress = false; want true (weight lost)", size)
			}
			if acquired.Load() == 0 {
				t.Fatalf("no Acquire succeeded")
			}
			t.Logf("%d acquired, %d failed", acquired.Load(), failed.Load())
		})
	}
}
