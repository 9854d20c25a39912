package detect_test

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/trace"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	exptrace "golang.org/x/exp/trace"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/hbgraph"
	"github.com/blockscope/blockscope/internal/corpus"
	"github.com/blockscope/blockscope/parse"
	psync "github.com/blockscope/blockscope/primitives/sync"
)

// BenchmarkParse measures one pass over big traces four ways, in one run:
// the bare x/exp/trace read loop (the floor: nothing can be faster),
// parse.File alone, parse.File with every detector (detect.Run, what
// analyze does) and parse.File with the happens-before builder (what hb
// does). The last three report x-exptrace, their time over the bare
// loop's measured just before, and every one reports events/s and
// allocations; detect also reports live-MB, the heap live at the end of
// its pass (see liveHeap).
//
// The traces are the corpus's largest (skipped, saying so, where there is
// no corpus) and "generated": a busy program of many goroutines traced
// in-process for a second (see benchWorkload), recorded once and kept in
// the temporary directory.
func BenchmarkParse(b *testing.B) {
	for _, bt := range benchTraces(b) {
		b.Run(bt.name, func(b *testing.B) {
			events := countEvents(b, bt.path)
			var floor float64 // the bare loop's ns/op
			b.Run("exptrace", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					countEvents(b, bt.path)
				}
				floor = nsPerOp(b)
				reportEvents(b, events)
			})
			over := func(b *testing.B) {
				reportEvents(b, events)
				if floor > 0 {
					b.ReportMetric(nsPerOp(b)/floor, "x-exptrace")
				}
			}
			b.Run("parse", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := parse.File(bt.path, parse.Options{DropBlocks: true}); err != nil {
						b.Fatal(err)
					}
				}
				over(b)
			})
			b.Run("detect", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := detect.Run(bt.path, parse.Options{}, detect.DefaultConfig()); err != nil {
						b.Fatal(err)
					}
				}
				over(b)
				// One more pass, untimed, for what stays live.
				var h liveHeap
				if _, err := detect.Run(bt.path, parse.Options{}, detect.DefaultConfig(), &h); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(h.bytes)/1e6, "live-MB")
			})
			b.Run("hbgraph", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					hb := hbgraph.NewBuilder(hbgraph.Options{})
					if _, err := parse.File(bt.path, parse.Options{DropBlocks: true}, hb); err != nil {
						b.Fatal(err)
					}
				}
				over(b)
			})
		})
	}
}

// liveHeap measures the heap live at the end of a pass, before the
// detectors finalize: what the model and the detectors keep, which should
// follow the goroutines and objects alive, not the trace's length.
type liveHeap struct{ bytes uint64 }

func (*liveHeap) Event(*parse.Trace, *parse.Event) {}

func (h *liveHeap) Finalize(*parse.Trace) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h.bytes = ms.HeapAlloc
}

type benchTrace struct{ name, path string }

// benchCorpusTraces is how many of the corpus's largest traces
// BenchmarkParse reads.
const benchCorpusTraces = 3

// benchTraces returns the corpus's largest traces, then the generated one.
func benchTraces(b *testing.B) []benchTrace {
	var out []benchTrace
	if dir, ok := corpus.Find(); ok {
		var files []string
		for _, pattern := range []string{"go126/*.trace", "goker/*.trace", "v1/*_good"} {
			m, _ := filepath.Glob(filepath.Join(dir, pattern))
			files = append(files, m...)
		}
		size := func(path string) int64 {
			st, err := os.Stat(path)
			if err != nil {
				return 0
			}
			return st.Size()
		}
		slices.SortFunc(files, func(x, y string) int { return cmp.Compare(size(y), size(x)) })
		for _, f := range files[:min(len(files), benchCorpusTraces)] {
			name := strings.TrimSuffix(filepath.Base(f), ".trace")
			out = append(out, benchTrace{name, f})
		}
	} else {
		b.Log("no shared/corpus folder above the repository (set BLOCKSCOPE_CORPUS to use one): benchmarking the generated trace only")
	}
	if path, err := generatedTrace(); err != nil {
		b.Logf("no generated trace: %v", err)
	} else {
		out = append(out, benchTrace{"generated", path})
	}
	return out
}

// benchWorkloadVersion names the workload in the cached trace's file
// name: change it when benchWorkload changes.
const benchWorkloadVersion = 1

// generatedTrace returns the path of the workload's trace, recording it
// first if the temporary directory does not hold it yet.
func generatedTrace() (string, error) {
	path := filepath.Join(os.TempDir(), fmt.Sprintf("blockscope-bench-%s-w%d.trace", runtime.Version(), benchWorkloadVersion))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), "blockscope-bench-*.tmp")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	if err := trace.Start(w); err != nil {
		return "", fmt.Errorf("cannot trace (is -trace set?): %w", err)
	}
	release := benchWorkload(time.Second)
	trace.Stop()
	release()
	if err := w.Flush(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return path, os.Rename(f.Name(), path)
}

// benchWorkload runs a busy program for d: channel ping-pong, a worker
// pool, contended sync and annotated mutexes, and short-lived goroutines
// started per request, a few of which stay blocked (leaks) until the
// returned release is called.
func benchWorkload(d time.Duration) (release func()) {
	var (
		stop atomic.Bool
		wg   sync.WaitGroup
		leak = make(chan struct{})
	)
	// Ping-pong over unbuffered channels.
	for range 64 {
		ping, pong := make(chan int), make(chan int)
		wg.Go(func() {
			for v := range ping {
				pong <- v + 1
			}
		})
		wg.Go(func() {
			defer close(ping)
			for i := 0; !stop.Load(); i++ {
				ping <- i
				<-pong
			}
		})
	}
	// A worker pool fed through a buffered channel.
	jobs, results := make(chan int, 16), make(chan int)
	var workers sync.WaitGroup
	for range 32 {
		workers.Go(func() {
			for j := range jobs {
				results <- j * 2
			}
		})
	}
	wg.Go(func() {
		defer close(jobs)
		for i := 0; !stop.Load(); i++ {
			jobs <- i
		}
	})
	wg.Go(func() {
		for range results {
		}
	})
	// Contended locks: a sync.Mutex and an annotated Mutex.
	var mu sync.Mutex
	var pmu psync.Mutex
	shared := 0
	for i := range 24 {
		wg.Go(func() {
			for !stop.Load() {
				if i%3 == 0 {
					pmu.Lock()
					shared++
					pmu.Unlock()
				} else {
					mu.Lock()
					shared++
					mu.Unlock()
				}
			}
		})
	}
	// Requests, each served by a new goroutine; every 500th leaks.
	wg.Go(func() {
		var reqs sync.WaitGroup
		for i := 0; !stop.Load(); i++ {
			done := make(chan int)
			if i%500 == 0 {
				go func() { <-leak }()
			}
			reqs.Go(func() { done <- i })
			<-done
		}
		reqs.Wait()
	})
	time.Sleep(d)
	stop.Store(true)
	time.Sleep(10 * time.Millisecond)
	return func() {
		workers.Wait()
		close(results)
		wg.Wait()
		close(leak)
	}
}

// countEvents reads a trace with x/exp/trace alone and counts its events.
func countEvents(b *testing.B, path string) int {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r, err := exptrace.NewReader(bufio.NewReaderSize(f, 1<<16))
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for {
		_, err := r.ReadEvent()
		if err == io.EOF {
			return n
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
}

func reportEvents(b *testing.B, events int) {
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func nsPerOp(b *testing.B) float64 {
	return float64(b.Elapsed().Nanoseconds()) / float64(b.N)
}
