package report

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/blockscope/blockscope/parse"
)

// Stack is a stack as reports show it: the user's frames, the primitive
// operation they called, and how many frames were left out.
type Stack struct {
	// Op names the operation the innermost shown frame called
	// ("sync.Mutex.Lock", "time.Sleep"), "" if it is the innermost frame.
	Op string
	// Frames are the frames shown, innermost first: from where the user's
	// code begins (see [parse.LocationIndex]) to the outermost frame
	// that is not the runtime's or package testing's.
	Frames []parse.Frame
	// Inner and Outer count the frames left out before and after Frames.
	Inner, Outer int
}

// UserStack is the part of a stack a reader needs: the frames of the
// runtime, the standard library's sync internals, blockscope's primitives
// and annotation encoder inside the user's code, and the runtime's and
// package testing's frames that started it, left out.
func UserStack(stack []parse.Frame) Stack {
	if len(stack) == 0 {
		return Stack{}
	}
	start := parse.LocationIndex(stack)
	end := len(stack)
	for end > start+1 && isHarness(stack[end-1]) {
		end--
	}
	v := Stack{Frames: stack[start:end], Inner: start, Outer: len(stack) - end}
	if start > 0 {
		v.Op = opName(stack[start-1])
	}
	return v
}

// isHarness reports whether a frame is the runtime's or package testing's
// start of a goroutine (runtime.goexit, runtime.main, testing.tRunner).
func isHarness(f parse.Frame) bool {
	return f.IsRuntime() || f.Package() == "testing"
}

// isEncoder reports whether a frame is blockscope's annotation encoder or
// runtime/trace under it: the innermost frames of every primitive's
// annotated stack.
func isEncoder(f parse.Frame) bool {
	return f.Package() == "runtime/trace" || strings.HasSuffix(f.Package(), "blockscope/internal/wire")
}

// opName names a primitive's or the standard library's operation as its
// user wrote it: "sync.Mutex.Lock" for sync.(*Mutex).Lock or blockscope's
// primitives/sync.(*Mutex).Lock, "time.Sleep", "runtime.chanrecv1".
func opName(f parse.Frame) string {
	if op, ok := runtimeOps[f.Func]; ok {
		return op
	}
	pkg := f.Package()
	name := strings.TrimPrefix(f.Func, pkg+".")
	name = strings.NewReplacer("(*", "", ")", "").Replace(name)
	return pkg[strings.LastIndexByte(pkg, '/')+1:] + "." + name
}

// runtimeOps name the runtime's entry points for channel operations as
// the user wrote them.
var runtimeOps = map[string]string{
	"runtime.chansend1":    "chan send",
	"runtime.chanrecv1":    "chan receive",
	"runtime.chanrecv2":    "chan receive",
	"runtime.selectgo":     "select",
	"runtime.block":        "select {}",
	"runtime.selectnbsend": "select send",
	"runtime.selectnbrecv": "select receive",
	"runtime.closechan":    "close",
	"runtime.gopark":       "park",
	"runtime.goparkunlock": "park",
	"runtime.chanrecv":     "chan receive",
	"runtime.chansend":     "chan send",
}

// Paths shortens the file paths of stacks: a path in the module at Root
// (whose module path is Module) is made relative to Root, one under Dir
// relative to Dir. The zero value leaves paths as the trace has them.
type Paths struct {
	Root   string // the module's root directory
	Module string // its module path, as a -trimpath build writes it
	Dir    string // the working directory
}

// Short returns file relative to the module or working directory, where it
// is in one.
func (p Paths) Short(file string) string {
	if p.Module != "" && strings.HasPrefix(file, p.Module+"/") {
		rel := strings.TrimPrefix(file, p.Module+"/")
		if p.Root != "" && p.Dir != "" {
			if r, err := filepath.Rel(p.Dir, filepath.Join(p.Root, rel)); err == nil && !strings.HasPrefix(r, "..") {
				return filepath.ToSlash(r)
			}
		}
		return rel
	}
	for _, dir := range []string{p.Dir, p.Root} {
		if dir == "" || !filepath.IsAbs(file) {
			continue
		}
		if r, err := filepath.Rel(dir, file); err == nil && !strings.HasPrefix(r, "..") {
			return filepath.ToSlash(r)
		}
	}
	return file
}

// WorkingPaths returns the Paths of the working directory and the module
// it is in (found by its go.mod), as far as they can be read.
func WorkingPaths() Paths {
	dir, err := os.Getwd()
	if err != nil {
		return Paths{}
	}
	p := Paths{Dir: dir}
	for d := dir; ; d = filepath.Dir(d) {
		if data, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil {
			p.Root, p.Module = d, modulePath(string(data))
			return p
		}
		if filepath.Dir(d) == d {
			return p
		}
	}
}

// modulePath reads the module path of a go.mod file's text.
func modulePath(gomod string) string {
	for _, line := range strings.Split(gomod, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module"); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}
