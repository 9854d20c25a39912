package leaktest

import (
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/blockscope/blockscope/parse"
)

// goroutine is one goroutine of a runtime.Stack dump.
type goroutine struct {
	id        int64
	state     string        // the wait reason, "chan send", or "running"
	frames    []parse.Frame // innermost first
	createdBy string        // the function whose go statement started it
}

// leakStates are the states of a dump that the leak detector judges from
// the trace: waits that only another goroutine can end (detect's
// leakReasons, in the runtime's words). A goroutine of the test in any
// other state (asleep, in I/O or a syscall, running) outlived it.
var leakStates = map[string]bool{
	"chan send": true, "chan receive": true, "select": true,
	"chan send (nil chan)": true, "chan receive (nil chan)": true, "select (no cases)": true,
	"sync.Mutex.Lock": true, "sync.RWMutex.Lock": true, "sync.RWMutex.RLock": true,
	"sync.WaitGroup.Wait": true, "sync.Cond.Wait": true, "semacquire": true,
}

// dump returns every goroutine of the program.
func dump() []goroutine {
	buf := make([]byte, 64<<10)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return parseDump(string(buf[:n]))
		}
		buf = make([]byte, 2*len(buf))
	}
}

// currentID returns the id of the calling goroutine.
func currentID() int64 {
	var buf [64]byte
	gs := parseDump(string(buf[:runtime.Stack(buf[:], false)]))
	if len(gs) == 0 {
		return 0
	}
	return gs[0].id
}

// parseDump reads runtime.Stack's text: a header per goroutine
// ("goroutine 7 [chan send, 2 minutes]:"), then for each frame a function
// line and a "\tfile:line +0x1d" line, then "created by f in goroutine 1".
func parseDump(text string) []goroutine {
	var gs []goroutine
	for block := range strings.SplitSeq(text, "\n\n") {
		lines := strings.Split(strings.TrimSpace(block), "\n")
		rest, ok := strings.CutPrefix(lines[0], "goroutine ")
		if !ok {
			continue
		}
		idText, header, _ := strings.Cut(rest, " ")
		id, err := strconv.ParseInt(idText, 10, 64)
		if err != nil {
			continue
		}
		g := goroutine{id: id}
		if open, close := strings.IndexByte(header, '['), strings.LastIndexByte(header, ']'); open >= 0 && close > open {
			g.state, _, _ = strings.Cut(header[open+1:close], ",")
			g.state = strings.TrimSuffix(g.state, " (leaked)")
		}
		for i := 1; i < len(lines); i++ {
			line := lines[i]
			if fn, ok := strings.CutPrefix(line, "created by "); ok {
				fn, _, _ = strings.Cut(fn, " in goroutine ")
				g.createdBy = fn
				i++ // its file line
				continue
			}
			f := parse.Frame{Func: funcName(line)}
			if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "\t") {
				i++
				f.File, f.Line = fileLine(lines[i])
			}
			g.frames = append(g.frames, f)
		}
		gs = append(gs, g)
	}
	return gs
}

// funcName strips a frame line's arguments: "p.(*T).m(0x1, ...)" → "p.(*T).m".
func funcName(line string) string {
	if strings.HasSuffix(line, ")") {
		if i := strings.LastIndexByte(line, '('); i > 0 {
			return line[:i]
		}
	}
	return line
}

// fileLine reads "\t/path/file.go:12 +0x1d".
func fileLine(line string) (string, int) {
	line = strings.TrimSpace(line)
	line, _, _ = strings.Cut(line, " ")
	i := strings.LastIndexByte(line, ':')
	if i < 0 {
		return line, 0
	}
	n, _ := strconv.Atoi(line[i+1:])
	return line[:i], n
}

// candidates are the goroutines that may be leaks, in any state: all but
// the caller, the testing framework waiting for tests, and those ignored
// by opts.
func candidates(o *options, self int64) map[int64]goroutine {
	out := make(map[int64]goroutine)
	for _, g := range dump() {
		if g.id == self || o.current[g.id] || idleFramework(g.frames) || o.ignored(g.frames) {
			continue
		}
		out[g.id] = g
	}
	return out
}

// idleFramework is detect's rule: a goroutine whose innermost frame
// outside the runtime is in package testing is the framework waiting for
// tests (t.Run waiting for its subtest, t.Parallel, the test runner).
func idleFramework(frames []parse.Frame) bool {
	for _, f := range frames {
		if !f.IsRuntime() {
			return f.Package() == "testing"
		}
	}
	return false
}

// ignored applies IgnoreTopFunction to the frames from the innermost to the
// first of the user's (as the leak detector does) and IgnoreAnyFunction to
// every frame.
func (o *options) ignored(frames []parse.Frame) bool {
	top := true
	for _, f := range frames {
		if slices.Contains(o.leak.IgnoreAnyFunction, f.Func) || top && slices.Contains(o.leak.IgnoreTopFunction, f.Func) {
			return true
		}
		if f.IsUser() {
			top = false
		}
	}
	return false
}
