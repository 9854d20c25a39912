package parse

import (
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	exptrace "golang.org/x/exp/trace"
)

// Frame is one frame of a stack, innermost first in a Stack.
type Frame struct {
	Func string `json:"func"`
	File string `json:"file"`
	Line int    `json:"line"`
}

func (f Frame) String() string {
	return f.File + ":" + strconv.Itoa(f.Line)
}

// Package returns the import path of the frame's function:
// "net/http" for "net/http.(*conn).serve", "main" for "main.main".
func (f Frame) Package() string {
	return funcPackage(f.Func)
}

func funcPackage(fn string) string {
	slash := strings.LastIndexByte(fn, '/')
	dot := strings.IndexByte(fn[slash+1:], '.')
	if dot < 0 {
		return fn
	}
	return fn[:slash+1+dot]
}

// stdRoots are the first path elements of the standard library's packages
// (TestStdRoots checks the list against `go list std`).
var stdRoots = map[string]bool{
	"archive": true, "bufio": true, "bytes": true, "cmp": true, "compress": true,
	"container": true, "context": true, "crypto": true, "database": true,
	"debug": true, "embed": true, "encoding": true, "errors": true, "expvar": true,
	"flag": true, "fmt": true, "go": true, "hash": true, "html": true, "image": true,
	"index": true, "internal": true, "io": true, "iter": true, "log": true,
	"maps": true, "math": true, "mime": true, "net": true, "os": true, "path": true,
	"plugin": true, "reflect": true, "regexp": true, "runtime": true, "slices": true,
	"sort": true, "strconv": true, "strings": true, "structs": true, "sync": true,
	"syscall": true, "testing": true, "text": true, "time": true, "unicode": true,
	"unique": true, "unsafe": true, "weak": true, "vendor": true, "cmd": true,
}

// PrimitivesPath is the import path prefix of blockscope's own primitives,
// whose frames are never the user's code.
const PrimitivesPath = "github.com/blockscope/blockscope/primitives/"

// wirePath is the package of blockscope's annotation encoder, the
// innermost frame of every annotation's stack.
const wirePath = "github.com/blockscope/blockscope/internal/wire"

// IsStd reports whether the frame's function is in the Go standard library
// (including the runtime).
func (f Frame) IsStd() bool {
	pkg := f.Package()
	root, _, _ := strings.Cut(pkg, "/")
	return stdRoots[root]
}

// IsRuntime reports whether the frame is in the runtime or its internal
// packages.
func (f Frame) IsRuntime() bool {
	pkg := f.Package()
	return pkg == "runtime" || strings.HasPrefix(pkg, "runtime/internal") || strings.HasPrefix(pkg, "internal/runtime")
}

// IsUser reports whether the frame is the user's own code: not the
// standard library, not golang.org/x/..., not blockscope's primitives or
// annotation encoder, not an assertion library (see assertionLibraries).
func (f Frame) IsUser() bool {
	if f.Func == "" || f.IsStd() {
		return false
	}
	pkg := f.Package()
	return !strings.HasPrefix(pkg, "golang.org/x/") && !f.isBlockscope() && !f.IsTestFramework()
}

// IsTestFramework reports whether the frame is in package testing or in an
// assertion library (see assertionLibraries): code that runs tests, never
// where a finding about them points.
func (f Frame) IsTestFramework() bool {
	pkg := f.Package()
	if pkg == "testing" || strings.HasPrefix(pkg, "testing/") {
		return true
	}
	for _, lib := range assertionLibraries {
		if pkg == lib || strings.HasPrefix(pkg, lib+"/") {
			return true
		}
	}
	return false
}

// assertionLibraries are test helpers that call into package testing (and
// take t.Helper's lock) on the test's behalf: never where a finding
// points.
var assertionLibraries = []string{
	"github.com/stretchr/testify",
	"gotest.tools",
	"github.com/onsi/gomega",
	"github.com/onsi/ginkgo",
	"github.com/matryer/is",
	"github.com/google/go-cmp",
}

// ModulePath guesses the module that holds a package: its first three
// path elements on a code host (github.com/owner/repo), golang.org/x's
// first three (golang.org/x/sync), the first two of another dotted
// domain (go.uber.org/zap), and the first element of a path without a
// domain (goker). An external test package's "_test" suffix is dropped.
func ModulePath(pkg string) string {
	pkg = strings.TrimSuffix(pkg, "_test")
	parts := strings.Split(pkg, "/")
	n := 1
	switch {
	case parts[0] == "github.com" || parts[0] == "gitlab.com" || parts[0] == "bitbucket.org" || strings.HasPrefix(pkg, "golang.org/x/"):
		n = 3
	case strings.Contains(parts[0], "."):
		n = 2
	}
	return strings.Join(parts[:min(n, len(parts))], "/")
}

// IsPrimitive reports whether the frame is in blockscope's primitives.
func (f Frame) IsPrimitive() bool {
	return strings.HasPrefix(f.Package(), PrimitivesPath)
}

// runnerPaths are blockscope's packages that run the user's code or stand
// in its stack without being it: the command (its demo, or analyze run
// in-process), the go test runner and the in-test verifier.
var runnerPaths = []string{
	"github.com/blockscope/blockscope/internal/cli",
	"github.com/blockscope/blockscope/internal/gotest",
	"github.com/blockscope/blockscope/leaktest",
}

// isBlockscope reports whether the frame is in blockscope's primitives,
// annotation encoder or one of its runners (runnerPaths).
func (f Frame) isBlockscope() bool {
	pkg := f.Package()
	return strings.HasPrefix(pkg, PrimitivesPath) || pkg == wirePath || slices.Contains(runnerPaths, pkg)
}

// StackID identifies an interned stack within a Trace.
type StackID int32

// NoStack is the StackID of an absent stack.
const NoStack StackID = 0

// Stacks interns stacks: the same frames are stored once. It is not safe
// for concurrent use (Location caches its answers).
type Stacks struct {
	frames  []Frame            // by frame index
	byFrame map[Frame]int32    // frame → index
	stacks  [][]int32          // by StackID; stacks[0] is the empty stack
	byKey   map[string]StackID // frame indices as bytes → StackID
	// loc caches Location by StackID: the frame's index plus one (0: not
	// yet computed). Stacks never change once interned.
	loc []int32
	// module is the module under test (see SetModule): Location prefers
	// its frames to other user frames.
	module string

	// cache maps this generation's stack handles to ids; reset at every
	// generation, since handles are per-generation table entries.
	cache map[exptrace.Stack]StackID
	buf   []int32
	key   []byte
}

func newStacks() *Stacks {
	return &Stacks{
		byFrame: make(map[Frame]int32),
		stacks:  [][]int32{nil},
		byKey:   make(map[string]StackID),
		cache:   make(map[exptrace.Stack]StackID),
	}
}

// newGeneration forgets the per-generation handle cache.
func (s *Stacks) newGeneration() {
	clear(s.cache)
}

// intern returns the id of a trace stack, resolving its frames once per
// (generation, stack).
func (s *Stacks) intern(st exptrace.Stack) StackID {
	if st == exptrace.NoStack {
		return NoStack
	}
	if id, ok := s.cache[st]; ok {
		return id
	}
	s.buf = s.buf[:0]
	for f := range st.Frames() {
		fr := Frame{Func: f.Func, File: f.File, Line: int(f.Line)}
		idx, ok := s.byFrame[fr]
		if !ok {
			idx = int32(len(s.frames))
			s.frames = append(s.frames, Frame{validUTF8(fr.Func), validUTF8(fr.File), fr.Line})
			s.byFrame[fr] = idx
		}
		s.buf = append(s.buf, idx)
	}
	id := s.internFrames(s.buf)
	s.cache[st] = id
	return id
}

func (s *Stacks) internFrames(idx []int32) StackID {
	if len(idx) == 0 {
		return NoStack
	}
	s.key = s.key[:0]
	for _, i := range idx {
		s.key = binary.LittleEndian.AppendUint32(s.key, uint32(i))
	}
	if id, ok := s.byKey[string(s.key)]; ok {
		return id
	}
	id := StackID(len(s.stacks))
	s.stacks = append(s.stacks, append([]int32(nil), idx...))
	s.byKey[string(s.key)] = id
	return id
}

// validUTF8 replaces the bytes of s that are not UTF-8 (a damaged trace's)
// with U+FFFD, so that reports and their JSON say what they read back.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// Len reports the number of distinct stacks, the empty one included.
func (s *Stacks) Len() int { return len(s.stacks) }

// Frames returns the stack's frames, innermost first. The slice is new.
func (s *Stacks) Frames(id StackID) []Frame {
	if id <= 0 || int(id) >= len(s.stacks) {
		return nil
	}
	idx := s.stacks[id]
	out := make([]Frame, len(idx))
	for i, fi := range idx {
		out[i] = s.frames[fi]
	}
	return out
}

// Depth returns the number of frames in the stack.
func (s *Stacks) Depth(id StackID) int {
	if id <= 0 || int(id) >= len(s.stacks) {
		return 0
	}
	return len(s.stacks[id])
}

// Frame returns the i-th frame of the stack, innermost first.
func (s *Stacks) Frame(id StackID, i int) Frame {
	return s.frames[s.stacks[id][i]]
}

// Location returns the frame a finding about this stack should point at:
// the innermost user frame (see Frame.IsUser); failing that, the innermost
// frame outside the runtime, sync and blockscope's own packages; failing
// that (a stack of primitives only), the innermost frame outside the
// runtime and blockscope's annotation encoder; failing that, the innermost
// frame. ok is false for an empty stack.
//
// Detectors ask for the same stacks' locations on every event, so the
// answer is computed once per stack.
func (s *Stacks) Location(id StackID) (f Frame, ok bool) {
	if s.Depth(id) == 0 {
		return Frame{}, false
	}
	if int(id) < len(s.loc) {
		if i := s.loc[id]; i > 0 {
			return s.frames[i-1], true
		}
	} else {
		s.loc = append(s.loc, make([]int32, len(s.stacks)-len(s.loc))...)
	}
	i := s.location(id)
	s.loc[id] = s.stacks[id][i] + 1
	return s.Frame(id, i), true
}

// locationPicks are Location's tries, in order.
var locationPicks = []func(Frame) bool{
	Frame.IsUser,
	func(f Frame) bool {
		pkg := f.Package()
		return !f.IsRuntime() && pkg != "sync" && !strings.HasPrefix(pkg, "internal/") && !f.isBlockscope()
	},
	func(f Frame) bool { return !f.IsRuntime() && f.Package() != wirePath },
}

// SetModule names the module under test ("example.com/pool"): from then
// on, Location returns the innermost user frame in that module when the
// stack has one (a test's line under an assertion library's or another
// library's frames), before the other tries. The parser sets it from the
// test functions' package, or from Options.Module.
func (s *Stacks) SetModule(path string) { s.module = path }

// Module returns the module under test, or "" if unknown.
func (s *Stacks) Module() string { return s.module }

// inModule reports whether the frame's package is in the module path.
func inModule(f Frame, module string) bool {
	pkg := f.Package()
	return module != "" && (pkg == module || strings.HasPrefix(pkg, module+"/") || pkg == module+"_test")
}

// location returns the index in the stack of the frame Location returns.
func (s *Stacks) location(id StackID) int {
	if s.module != "" {
		if i := s.innermost(id, func(f Frame) bool { return f.IsUser() && inModule(f, s.module) }); i >= 0 {
			return i
		}
	}
	for _, pick := range locationPicks {
		if i := s.innermost(id, pick); i >= 0 {
			return i
		}
	}
	return 0
}

// LocationIndex returns the index in frames (innermost first) of the
// frame [Stacks.Location] would return for them: where the user's code
// begins. It is 0 for an empty stack.
func LocationIndex(frames []Frame) int {
	for _, pick := range locationPicks {
		if i := slices.IndexFunc(frames, pick); i >= 0 {
			return i
		}
	}
	return 0
}

// innermost returns the index of the innermost frame of the stack that
// pick accepts, or -1.
func (s *Stacks) innermost(id StackID, pick func(Frame) bool) int {
	for i, n := 0, s.Depth(id); i < n; i++ {
		if pick(s.Frame(id, i)) {
			return i
		}
	}
	return -1
}

// UserFrame returns the innermost user frame of the stack (see
// Frame.IsUser); ok is false when it has none.
func (s *Stacks) UserFrame(id StackID) (f Frame, ok bool) {
	if i := s.innermost(id, Frame.IsUser); i >= 0 {
		return s.Frame(id, i), true
	}
	return Frame{}, false
}

// Has reports whether any frame of the stack has the given function name.
func (s *Stacks) Has(id StackID, fn string) bool {
	for i, n := 0, s.Depth(id); i < n; i++ {
		if s.Frame(id, i).Func == fn {
			return true
		}
	}
	return false
}
