// Command gen writes the small traces that parse's tests read, one
// scenario per run, so that no scenario's goroutines show up in another's
// trace. Run it through go generate in parse/ (see gen_test.go); never edit
// the traces by hand.
//
// Usage: go run -trimpath ./testdata/gen -dir testdata SCENARIO
//
// Each scenario has a file of its own (blocked.go writes blocked.trace)
// and marks the lines its goroutines block at:
//
//	// want REASON [leak] [xN]
//
// says N goroutines (1 if no xN) are blocked at that line at the end of the
// trace with that wait reason, and that the leak detector reports them
// (leak) or must not. Lines marked "// waker" are where a goroutine wakes
// another; "// go" marks go statements whose creation stacks tests check.
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
)

// settle is how long a scenario lets its goroutines reach their blocking
// point before the trace stops.
const settle = 20 * time.Millisecond

func main() {
	dir := flag.String("dir", ".", "directory to write the traces to")
	flag.Parse()
	scenarios := map[string]struct {
		before func() // runs before tracing starts
		during func()
	}{
		"blocked":     {nil, blocked},
		"preexisting": {preexistingBefore, preexistingDuring},
	}
	s, ok := scenarios[flag.Arg(0)]
	if flag.NArg() != 1 || !ok {
		check(fmt.Errorf("want one scenario name (blocked, preexisting), got %q", flag.Args()))
	}
	path := filepath.Join(*dir, flag.Arg(0)+".trace")
	if s.before != nil {
		s.before()
	}
	f, err := os.Create(path)
	check(err)
	check(trace.Start(f))
	s.during()
	trace.Stop()
	check(f.Close())
	sum := sourceSum(filepath.Join("testdata", "gen"))
	check(os.WriteFile(path+".sum", []byte(sum+"\n"), 0o666))
	fmt.Println("wrote", path)
}

// sourceSum is the SHA-256 of the generator's .go files, in name order,
// each preceded by its name: parse's tests compare it with the .sum file
// beside each trace to tell a stale trace.
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
