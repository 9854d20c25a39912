// Command tracebench measures blockscope on big generated traces against
// the bare trace reader and go tool trace, in one run (see README,
// "Benchmarks").
//
//	go run ./internal/tracebench run [-sizes 10,100,500] [-count 3] [-dir /tmp]
//	go run ./internal/tracebench gen -size 100 -o FILE   # a trace of about 100 MB
//	go run ./internal/tracebench read [-floor] FILE      # one read loop; prints the events
//
// run records the traces it lacks (internal/tracegen), builds blockscope,
// and runs every measured command as a child process, -count times each,
// interleaved, reporting medians of wall time and peak RSS and their
// ratios, so that a noisy machine slows every command of a round alike.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	exptrace "golang.org/x/exp/trace"

	"github.com/blockscope/blockscope/internal/tracegen"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = runCmd(os.Args[2:])
	case "gen":
		err = genCmd(os.Args[2:])
	case "read":
		err = readCmd(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracebench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage:
  tracebench run [-sizes 10,100,500] [-count 3] [-dir DIR] [-gotrace-limit GB]
  tracebench gen -size MB -o FILE
  tracebench read [-floor] FILE`)
	os.Exit(2)
}

func genCmd(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	size := fs.Int64("size", 100, "trace size in `MB` (about)")
	out := fs.String("o", "", "write the trace to `FILE`")
	fs.Parse(args)
	if *out == "" {
		return fmt.Errorf("gen: -o FILE is required")
	}
	st, err := generate(*out, *size)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %.1f MB, %d requests, %d leaked, %v\n", *out, float64(st.Bytes)/1e6, st.Requests, st.Leaked, st.Elapsed.Round(1e6))
	return nil
}

// generate records a trace of about mb megabytes at path, through a
// temporary file so that an interrupted run leaves no half trace.
func generate(path string, mb int64) (tracegen.Stats, error) {
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return tracegen.Stats{}, err
	}
	defer os.Remove(f.Name())
	w := bufio.NewWriterSize(f, 1<<20)
	st, err := tracegen.Record(w, mb*1e6)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return st, err
	}
	return st, os.Rename(f.Name(), path)
}

// readCmd is the reference read loop: the bare x/exp/trace loop, or with
// -floor the least any analysis of stacks must do: touch every event's
// stack and every state transition, resolving each stack's frames once
// per generation.
func readCmd(args []string) error {
	fs := flag.NewFlagSet("read", flag.ExitOnError)
	floor := fs.Bool("floor", false, "touch every stack and state transition")
	fs.Parse(args)
	if fs.NArg() != 1 {
		return fmt.Errorf("read: want one FILE")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := exptrace.NewReader(bufio.NewReaderSize(f, 1<<16))
	if err != nil {
		return err
	}
	var (
		events int
		sink   int
		seen   = make(map[exptrace.Stack]struct{})
	)
	touch := func(st exptrace.Stack) {
		if st == exptrace.NoStack {
			return
		}
		if _, ok := seen[st]; ok {
			return
		}
		seen[st] = struct{}{}
		for fr := range st.Frames() {
			sink += len(fr.Func) + len(fr.File) + int(fr.Line)
		}
	}
	for {
		ev, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		events++
		if !*floor {
			continue
		}
		switch ev.Kind() {
		case exptrace.EventSync:
			clear(seen)
		case exptrace.EventStateTransition:
			st := ev.StateTransition()
			if st.Resource.Kind == exptrace.ResourceGoroutine {
				from, to := st.Goroutine()
				sink += int(from) + int(to) + int(st.Resource.Goroutine()) + len(st.Reason)
				touch(st.Stack)
			}
		}
		sink += int(ev.Goroutine())
		touch(ev.Stack())
	}
	fmt.Println(events)
	if sink == 42 {
		fmt.Fprintln(os.Stderr, strings.Repeat("", sink)) // keeps sink alive
	}
	return nil
}
