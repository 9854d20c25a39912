// Command gen writes hb.trace, the small trace of report's golden DOT and
// JSON tests: three goroutines contending a named primitives/sync.Mutex
// (annotated unlock→lock handoffs beside the runtime's unblocks), a
// primitives/sync.WaitGroup that main waits on, and an unbuffered
// primitives/chans.Chan handing one message over. Run it through go
// generate in report/ (see dot_test.go), then go test ./report -update;
// never edit the trace by hand.
//
// Usage: go run -trimpath ./testdata/gen -o testdata/hb.trace
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/trace"
	"sort"
	"time"

	"github.com/blockscope/blockscope/primitives/chans"
	"github.com/blockscope/blockscope/primitives/sync"
)

func main() {
	out := flag.String("o", "testdata/hb.trace", "the trace to write")
	flag.Parse()
	f, err := os.Create(*out)
	check(err)
	check(trace.Start(f))
	run()
	trace.Stop()
	check(f.Close())
	check(os.WriteFile(*out+".sum", []byte(sourceSum(filepath.Join("testdata", "gen"))+"\n"), 0o666))
	fmt.Println("wrote", *out)
}

// run is the traced program.
func run() {
	var mu sync.Mutex
	mu.SetName("state")
	var wg sync.WaitGroup
	mu.Lock()
	for range 3 {
		wg.Go(func() { worker(&mu) })
	}
	time.Sleep(5 * time.Millisecond) // the workers queue on mu
	mu.Unlock()
	wg.Wait()

	c := chans.Make[string](0)
	c.SetName("result")
	go produce(c)
	c.Recv()
}

// worker holds mu for a millisecond.
func worker(mu *sync.Mutex) {
	mu.Lock()
	time.Sleep(time.Millisecond)
	mu.Unlock()
}

func produce(c *chans.Chan[string]) {
	c.Send("done")
}

// sourceSum is the SHA-256 of the generator's .go files, in name order,
// each preceded by its name: the tests compare it with hb.trace.sum to
// tell a stale trace.
func sourceSum(dir string) string {
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	check(err)
	sort.Strings(names)
	h := sha256.New()
	for _, name := range names {
		src, err := os.ReadFile(name)
		check(err)
		fmt.Fprintf(h, "%s\n%d\n", filepath.Base(name), len(src))
		h.Write(src)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
