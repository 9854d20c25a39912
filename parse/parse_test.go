package parse_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/blockscope/blockscope/parse"
)

// TestBlockedAt checks, both ways, that the goroutines blocked at the end of
// each checked-in trace are the ones its scenario marks with "// want":
// at that line, with that reason, as many as it says.
func TestBlockedAt(t *testing.T) {
	for _, tc := range []struct {
		trace, src  string
		preexisting bool // the marked goroutines blocked before tracing began
	}{
		{"blocked.trace", "blocked.go", false},
		{"preexisting.trace", "preexisting.go", true},
	} {
		t.Run(tc.trace, func(t *testing.T) {
			marks := readMarks(t, tc.src)
			tr := genTrace(t, tc.trace, parse.Options{})
			got := make(map[int][]*parse.Goroutine)
			gs := tr.Goroutines()
			for i := range gs {
				g := &gs[i]
				if g.State != parse.StateWaiting {
					continue
				}
				if f, ok := genFrame(tr, g.Stack, tc.src); ok {
					got[f.Line] = append(got[f.Line], g)
				}
			}
			for line, m := range marks {
				if m.kind != "want" {
					continue
				}
				if len(got[line]) != m.n {
					t.Errorf("%s:%d: %d goroutines blocked; want %d", tc.src, line, len(got[line]), m.n)
				}
				for _, g := range got[line] {
					if g.Reason != m.reason {
						t.Errorf("%s:%d: goroutine %d blocked on %q; want %q", tc.src, line, g.ID, g.Reason, m.reason)
					}
					if g.Preexisting != tc.preexisting {
						t.Errorf("%s:%d: goroutine %d Preexisting = %v; want %v", tc.src, line, g.ID, g.Preexisting, tc.preexisting)
					}
					if tc.preexisting && (g.Creator != parse.NoGoroutine || g.Created != 0) {
						t.Errorf("%s:%d: preexisting goroutine %d has Creator %d, Created %d; want %d, 0", tc.src, line, g.ID, g.Creator, g.Created, parse.NoGoroutine)
					}
					if !tc.preexisting && (g.Creator == parse.NoGoroutine || g.CreateStack == parse.NoStack) {
						t.Errorf("%s:%d: goroutine %d has no creator or creation stack", tc.src, line, g.ID)
					}
					if g.BlockCount != 1 || g.BlockedTime <= 0 {
						t.Errorf("%s:%d: goroutine %d BlockCount, BlockedTime = %d, %v; want 1, > 0", tc.src, line, g.ID, g.BlockCount, g.BlockedTime)
					}
					if g.System {
						t.Errorf("%s:%d: goroutine %d marked System", tc.src, line, g.ID)
					}
				}
			}
			for line, gs := range got {
				if m, ok := marks[line]; !ok || m.kind != "want" {
					t.Errorf("%s:%d: %d goroutines blocked (goroutine %d on %q); no // want marker", tc.src, line, len(gs), gs[0].ID, gs[0].Reason)
				}
			}
		})
	}
}

// TestCounts checks goroutine counts and the trace's header facts.
func TestCounts(t *testing.T) {
	tr := genTrace(t, "blocked.trace", parse.Options{})
	if tr.GoVersion != "1.26" || !tr.Complete || tr.Err != nil {
		t.Errorf("GoVersion, Complete, Err = %q, %v, %v; want \"1.26\", true, nil", tr.GoVersion, tr.Complete, tr.Err)
	}
	if tr.Duration() < 20*time.Millisecond || tr.Events < 100 {
		t.Errorf("Duration, Events = %v, %d; want >= 20ms (the scenario's settle time), >= 100", tr.Duration(), tr.Events)
	}
	// The scenario's own goroutines, by state.
	var created, exited, waiting int
	for _, g := range tr.Goroutines() {
		if !strings.HasPrefix(g.Entry, "main.") || g.Entry == "main.main" {
			continue
		}
		if !g.Preexisting {
			created++
		}
		switch g.State {
		case parse.StateExited:
			exited++
			if g.Exited <= g.Created || g.Since != g.Exited {
				t.Errorf("goroutine %d (%s): Created %d, Exited %d, Since %d; want Created < Exited = Since", g.ID, g.Entry, g.Created, g.Exited, g.Since)
			}
		case parse.StateWaiting:
			waiting++
		}
	}
	// 9 single leaks and a sleeper, 5 at one line, nested parent and child,
	// woken and waker, 10 that exit.
	if created != 28 || exited != 13 || waiting != 15 {
		t.Errorf("scenario goroutines created, exited, waiting = %d, %d, %d; want 28, 13, 15", created, exited, waiting)
	}
	allCreated, allExited, allWaiting := tr.Counts()
	if allCreated < created || allExited < exited || allWaiting < waiting {
		t.Errorf("Counts() = %d, %d, %d; want at least the scenario's %d, %d, %d", allCreated, allExited, allWaiting, created, exited, waiting)
	}
	if n := len(byEntry(tr, "main.exiter")); n != 10 {
		t.Errorf("%d goroutines start in main.exiter; want 10", n)
	}
	for _, r := range []string{parse.ReasonChanSend, parse.ReasonSync, parse.ReasonSleep} {
		if tr.BlockedByReason[r] <= 0 {
			t.Errorf("BlockedByReason[%q] = %v; want > 0", r, tr.BlockedByReason[r])
		}
	}
}

// TestWaker checks that a woken goroutine's block names its waker and the
// waker's stack, and that DropBlocks keeps only the sums.
func TestWaker(t *testing.T) {
	marks := readMarks(t, "blocked.go")
	tr := genTrace(t, "blocked.trace", parse.Options{})
	woken := oneByEntry(t, tr, "main.wokenReceiver")
	waker := oneByEntry(t, tr, "main.wakeSender")
	if len(woken.Blocks) != 1 {
		t.Fatalf("wokenReceiver has %d blocks; want 1", len(woken.Blocks))
	}
	b := woken.Blocks[0]
	if b.Waker != waker.ID {
		t.Errorf("Waker = %d; want %d (wakeSender)", b.Waker, waker.ID)
	}
	if b.Reason != parse.ReasonChanReceive || b.End <= b.Start {
		t.Errorf("block Reason, Start, End = %q, %d, %d; want %q, Start < End", b.Reason, b.Start, b.End, parse.ReasonChanReceive)
	}
	if f, ok := genFrame(tr, b.Stack, "blocked.go"); !ok || f.Line != markLine(t, marks, "woken", "") {
		t.Errorf("blocked stack at %v; want blocked.go:%d", f, markLine(t, marks, "woken", ""))
	}
	if f, ok := genFrame(tr, b.WakerStack, "blocked.go"); !ok || f.Line != markLine(t, marks, "waker", "") {
		t.Errorf("waker stack at %v; want blocked.go:%d", f, markLine(t, marks, "waker", ""))
	}
	if woken.BlockCount != 1 || woken.BlockedTime != time.Duration(b.End-b.Start) {
		t.Errorf("BlockCount, BlockedTime = %d, %v; want 1, %v", woken.BlockCount, woken.BlockedTime, time.Duration(b.End-b.Start))
	}

	dropped := genTrace(t, "blocked.trace", parse.Options{DropBlocks: true})
	dw := oneByEntry(t, dropped, "main.wokenReceiver")
	if dw.Blocks != nil || dw.BlockCount != 1 || dw.BlockedTime != woken.BlockedTime {
		t.Errorf("DropBlocks: Blocks, BlockCount, BlockedTime = %v, %d, %v; want nil, 1, %v", dw.Blocks, dw.BlockCount, dw.BlockedTime, woken.BlockedTime)
	}
}

// TestPreexistingWoken checks a goroutine blocked before the trace began
// and woken inside it: the trace gives no stack for its block, but its
// waker is known.
func TestPreexistingWoken(t *testing.T) {
	marks := readMarks(t, "preexisting.go")
	tr := genTrace(t, "preexisting.trace", parse.Options{})
	main := oneByEntry(t, tr, "main.main")
	var woken []*parse.Goroutine
	gs := tr.Goroutines()
	for i := range gs {
		if g := &gs[i]; g.Preexisting && len(g.Blocks) > 0 && g.Blocks[0].Waker == main.ID {
			woken = append(woken, g)
		}
	}
	if len(woken) != 1 {
		t.Fatalf("%d preexisting goroutines woken by main; want 1", len(woken))
	}
	g := woken[0]
	if g.State != parse.StateExited || g.BlockCount != 1 {
		t.Errorf("State, BlockCount = %v, %d; want exited, 1", g.State, g.BlockCount)
	}
	if f, ok := genFrame(tr, g.Blocks[0].WakerStack, "preexisting.go"); !ok || f.Line != markLine(t, marks, "waker", "") {
		t.Errorf("waker stack at %v; want preexisting.go:%d", f, markLine(t, marks, "waker", ""))
	}
}

// TestPreexistingSince: a goroutine blocked before the trace began has been
// blocked since the trace's start at least, however late the trace first
// mentions it.
func TestPreexistingSince(t *testing.T) {
	tr := genTrace(t, "preexisting.trace", parse.Options{})
	n := 0
	for _, g := range tr.Goroutines() {
		if !g.Preexisting || g.State != parse.StateWaiting || g.System {
			continue
		}
		n++
		if g.Since != 0 {
			t.Errorf("G%d (%s), blocked before the trace on %s: Since = %v; want 0, the trace's start", g.ID, g.Entry, g.Reason, g.Since)
		}
	}
	if n == 0 {
		t.Fatal("no preexisting goroutine blocked at the end")
	}
}

// TestCreation checks creators, creation stacks and start stacks along a
// chain main → nestedParent → nestedChild.
func TestCreation(t *testing.T) {
	marks := readMarks(t, "blocked.go")
	tr := genTrace(t, "blocked.trace", parse.Options{})
	main := oneByEntry(t, tr, "main.main")
	parent := oneByEntry(t, tr, "main.nestedParent")
	child := oneByEntry(t, tr, "main.nestedChild")
	if !main.Preexisting || main.System {
		t.Errorf("main: Preexisting, System = %v, %v; want true, false", main.Preexisting, main.System)
	}
	for _, tc := range []struct {
		g       *parse.Goroutine
		creator *parse.Goroutine
		entry   string
	}{
		{parent, main, "nestedParent"},
		{child, parent, "nestedChild"},
	} {
		t.Run(tc.entry, func(t *testing.T) {
			if tc.g.Creator != tc.creator.ID {
				t.Errorf("Creator = %d; want %d", tc.g.Creator, tc.creator.ID)
			}
			want := markLine(t, marks, "go", tc.entry)
			if f, ok := tr.Stacks.Location(tc.g.CreateStack); !ok || f.File != genPath+"blocked.go" || f.Line != want {
				t.Errorf("CreateStack location = %v; want blocked.go:%d", f, want)
			}
			if n := tr.Stacks.Depth(tc.g.StartStack); n == 0 || tr.Stacks.Frame(tc.g.StartStack, 0).Func != "main."+tc.entry {
				t.Errorf("StartStack = %v; want main.%s", tr.Stacks.Frames(tc.g.StartStack), tc.entry)
			}
			if tc.g.Preexisting || tc.g.Created <= 0 {
				t.Errorf("Preexisting, Created = %v, %d; want false, > 0", tc.g.Preexisting, tc.g.Created)
			}
		})
	}
	if child.Created < parent.Created {
		t.Errorf("child created at %d, before its parent at %d", child.Created, parent.Created)
	}
}

// TestSystem checks which goroutines are marked as the runtime's or the
// tracer's own.
func TestSystem(t *testing.T) {
	for _, name := range []string{"blocked.trace", "preexisting.trace"} {
		t.Run(name, func(t *testing.T) {
			tr := genTrace(t, name, parse.Options{})
			for _, entry := range []string{
				"runtime.traceStartReadCPU.func1",
				"runtime.(*traceAdvancerState).start.func1",
				"runtime/trace.(*traceMultiplexer).startLocked.func1",
			} {
				if gs := byEntry(tr, entry); len(gs) != 1 || !gs[0].System {
					t.Errorf("goroutines starting in %s: %d, want 1 marked System", entry, len(gs))
				}
			}
			for _, g := range tr.Goroutines() {
				want := g.Entry != "runtime.main" && (strings.HasPrefix(g.Entry, "runtime.") || strings.HasPrefix(g.Entry, "runtime/trace."))
				if g.System != want {
					t.Errorf("goroutine %d (%s): System = %v; want %v", g.ID, g.Entry, g.System, want)
				}
				if g.System && g.State == parse.StateWaiting && g.Reason == parse.ReasonUnknown {
					t.Errorf("system goroutine %d (%s) waits for reason %q", g.ID, g.Entry, g.Reason)
				}
			}
		})
	}
}

// TestStacksInterned checks that the same frames get the same StackID and
// that no two ids hold the same frames.
func TestStacksInterned(t *testing.T) {
	tr := genTrace(t, "blocked.trace", parse.Options{})
	same := byEntry(tr, "main.sendOn")
	if len(same) != 5 {
		t.Fatalf("%d goroutines start in main.sendOn; want 5", len(same))
	}
	for _, g := range same[1:] {
		if g.Stack != same[0].Stack || g.CreateStack != same[0].CreateStack {
			t.Errorf("goroutine %d: Stack, CreateStack = %d, %d; want %d, %d as goroutine %d's", g.ID, g.Stack, g.CreateStack, same[0].Stack, same[0].CreateStack, same[0].ID)
		}
	}
	other := oneByEntry(t, tr, "main.nestedChild")
	if other.Stack == same[0].Stack {
		t.Errorf("nestedChild and sendOn share StackID %d", other.Stack)
	}
	checkUniqueStacks(t, tr)
}

// checkUniqueStacks fails if two StackIDs hold the same frames.
func checkUniqueStacks(t *testing.T, tr *parse.Trace) {
	t.Helper()
	seen := make(map[string]parse.StackID)
	for id := parse.StackID(1); int(id) < tr.Stacks.Len(); id++ {
		fs := tr.Stacks.Frames(id)
		if len(fs) == 0 || len(fs) != tr.Stacks.Depth(id) {
			t.Errorf("stack %d: %d frames, Depth %d; want the same, > 0", id, len(fs), tr.Stacks.Depth(id))
		}
		var key strings.Builder
		for _, f := range fs {
			key.WriteString(f.Func + " " + f.String() + "\n")
		}
		if prev, ok := seen[key.String()]; ok {
			t.Errorf("stacks %d and %d hold the same frames:\n%s", prev, id, key.String())
		}
		seen[key.String()] = id
	}
	if tr.Stacks.Frames(parse.NoStack) != nil || tr.Stacks.Depth(parse.NoStack) != 0 {
		t.Errorf("NoStack has frames")
	}
}

// summary is what two reads of the same trace must agree on.
func summary(tr *parse.Trace) string {
	var b strings.Builder
	created, exited, waiting := tr.Counts()
	b.WriteString(strings.Join([]string{tr.GoVersion, tr.Duration().String()}, " "))
	for _, n := range []int{tr.Events, len(tr.Goroutines()), created, exited, waiting, tr.Stacks.Len()} {
		b.WriteString(" ")
		b.WriteString(time.Duration(n).String())
	}
	return b.String()
}

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestInputs checks that a trace reads the same plain or gzip-compressed
// (told by magic bytes, not by name), from a file or from standard input.
func TestInputs(t *testing.T) {
	path := filepath.Join("testdata", "blocked.trace")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := genTrace(t, "blocked.trace", parse.Options{})
	dir := t.TempDir()
	gzPath := filepath.Join(dir, "compressed.trace") // no .gz suffix
	if err := os.WriteFile(gzPath, gzipped(t, data), 0o666); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		read     func() (*parse.Trace, error)
		wantPath string
	}{
		{"reader", func() (*parse.Trace, error) { return parse.Parse(bytes.NewReader(data), parse.Options{}) }, ""},
		{"gzip reader", func() (*parse.Trace, error) {
			return parse.Parse(bytes.NewReader(gzipped(t, data)), parse.Options{Path: "x"})
		}, "x"},
		{"gzip file", func() (*parse.Trace, error) { return parse.File(gzPath, parse.Options{}) }, gzPath},
		{"stdin option", func() (*parse.Trace, error) {
			return parse.File("-", parse.Options{Stdin: bytes.NewReader(data)})
		}, "<stdin>"},
		{"os.Stdin", func() (*parse.Trace, error) { return fileFromStdin(t, data) }, "<stdin>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := tc.read()
			if err != nil {
				t.Fatalf("read error: %v", err)
			}
			if got, want := summary(tr), summary(want); got != want {
				t.Errorf("summary = %s; want %s", got, want)
			}
			if tr.Path != tc.wantPath {
				t.Errorf("Path = %q; want %q", tr.Path, tc.wantPath)
			}
		})
	}
}

// fileFromStdin calls File("-") with os.Stdin a pipe that carries data.
func fileFromStdin(t *testing.T, data []byte) (*parse.Trace, error) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	go func() {
		w.Write(data)
		w.Close()
	}()
	saved := os.Stdin
	os.Stdin = r
	defer func() { os.Stdin = saved }()
	return parse.File("-", parse.Options{})
}

// TestBadInput checks that input that is not a whole trace gets the right
// error, naming the file, and no model.
func TestBadInput(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "blocked.trace"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name   string
		data   []byte // nil: the path is not a file
		path   string
		kind   error
		detail string // a part of the message
	}{
		{"empty", []byte{}, "", parse.ErrEmpty, "empty file"},
		{"header only", data[:16], "", parse.ErrEmpty, "header only"},
		{"old header only", []byte("go 1.11 trace\x00\x00\x00"), "", parse.ErrEmpty, "header only"},
		{"short header", []byte("go 1.2"), "", parse.ErrNotTrace, "header cut short"},
		{"text", []byte("hello, world\nthis is text\n"), "", parse.ErrNotTrace, `text "hello`},
		{"json report", []byte("{\n  \"schema\": 1,\n  \"trace\": {}}\n"), "", parse.ErrNotTrace, "a JSON document (blockscope merge reads JSON reports)"},
		{"binary", []byte{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}, "", parse.ErrNotTrace, "unknown header"},
		{"bad version", []byte("go 1.99 trace\x00\x00\x00\x01\x02\x03"), "", parse.ErrNotTrace, "1.99"},
		{"gzip text", gzipped(t, []byte("not a trace at all")), "", parse.ErrNotTrace, "gzip"},
		{"bad gzip", []byte{0x1f, 0x8b, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3}, "", parse.ErrNotTrace, "bad gzip data"},
		{"gzip header cut short", []byte{0x1f, 0x8b, 8, 0, 1, 2, 3}, "", parse.ErrTruncated, "gzip-compressed, but truncated in its gzip header"},
		{"gzip cut short", gzipped(t, data)[:len(gzipped(t, data))/2], "", parse.ErrTruncated, "the gzip-compressed file is truncated"},
		{"empty gzip", gzipped(t, nil), "", parse.ErrNotTrace, "gzip-compressed, but empty"},
		{"gzip twice", gzipped(t, gzipped(t, data)), "", parse.ErrNotTrace, "gzip-compressed twice"},
		{"truncated", data[:len(data)/2], "", parse.ErrTruncated, "nothing readable"},
		{"missing file", nil, filepath.Join(dir, "nonexistent.trace"), parse.ErrUnreadable, "no such file"},
		{"directory", nil, dir, parse.ErrUnreadable, "is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if tc.data != nil {
				path = filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".trace")
				if err := os.WriteFile(path, tc.data, 0o666); err != nil {
					t.Fatal(err)
				}
			}
			tr, err := parse.File(path, parse.Options{})
			if tr != nil {
				t.Errorf("File(%q) returned a trace of %d events; want none", path, tr.Events)
			}
			if !errors.Is(err, tc.kind) {
				t.Fatalf("File(%q) error = %v; want %v", path, err, tc.kind)
			}
			var pe *parse.Error
			if !errors.As(err, &pe) || pe.Path != path {
				t.Errorf("File(%q) error = %#v; want a *parse.Error with Path %q", path, err, path)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, path+": ") || !strings.Contains(msg, tc.detail) || strings.Contains(msg, "\n") {
				t.Errorf("File(%q) error = %q; want one line starting with the path and containing %q", path, msg, tc.detail)
			}
		})
	}
}

// consumer records what a parse.Consumer is handed.
type consumer struct {
	kinds     map[parse.EventKind]int
	finalized int
	last      parse.Time
	unordered int
	wakes     []parse.Event
}

func (c *consumer) Event(tr *parse.Trace, ev *parse.Event) {
	if c.kinds == nil {
		c.kinds = make(map[parse.EventKind]int)
	}
	c.kinds[ev.Kind]++
	if ev.Time < c.last {
		c.unordered++
	}
	c.last = ev.Time
	if ev.Kind == parse.EvWake {
		c.wakes = append(c.wakes, *ev)
	}
}

func (c *consumer) Finalize(tr *parse.Trace) { c.finalized++ }

// TestConsumers checks the event stream consumers see: every kind, in
// time order, wakes describing the block they end, one Finalize.
func TestConsumers(t *testing.T) {
	var a, b consumer
	tr, err := parse.File(filepath.Join("testdata", "blocked.trace"), parse.Options{}, &a, &b)
	if err != nil {
		t.Fatal(err)
	}
	if a.finalized != 1 || b.finalized != 1 {
		t.Errorf("Finalize called %d and %d times; want 1", a.finalized, b.finalized)
	}
	for _, k := range []parse.EventKind{parse.EvCreate, parse.EvBlock, parse.EvWake, parse.EvRun, parse.EvExit} {
		if a.kinds[k] == 0 || a.kinds[k] != b.kinds[k] {
			t.Errorf("events of kind %d: %d and %d; want the same, > 0", k, a.kinds[k], b.kinds[k])
		}
	}
	if a.unordered > 0 {
		t.Errorf("%d events out of time order", a.unordered)
	}
	woken := oneByEntry(t, tr, "main.wokenReceiver")
	waker := oneByEntry(t, tr, "main.wakeSender")
	i := slices.IndexFunc(a.wakes, func(ev parse.Event) bool { return ev.G == woken.ID })
	if i < 0 {
		t.Fatalf("no wake event for goroutine %d", woken.ID)
	}
	ev := a.wakes[i]
	blk := woken.Blocks[0]
	if ev.Peer != waker.ID || ev.Reason != blk.Reason || ev.Stack != blk.Stack || ev.Start != blk.Start || ev.Time != blk.End || ev.PeerStack != blk.WakerStack {
		t.Errorf("wake event = %+v; want it to describe block %+v", ev, blk)
	}
}

// selective takes only wakes and exits.
type selective struct{ consumer }

func (*selective) Kinds() parse.Kinds { return parse.KindsOf(parse.EvWake, parse.EvExit) }

// TestSelective checks that a parse.Selective consumer sees the events of
// the kinds it asks for, all of them, and no others.
func TestSelective(t *testing.T) {
	var all consumer
	var some selective
	if _, err := parse.File(filepath.Join("testdata", "blocked.trace"), parse.Options{}, &all, &some); err != nil {
		t.Fatal(err)
	}
	for k := parse.EvCreate; k <= parse.EvAnnotation; k++ {
		want := 0
		if k == parse.EvWake || k == parse.EvExit {
			want = all.kinds[k]
		}
		if some.kinds[k] != want {
			t.Errorf("events of kind %d: %d; want %d", k, some.kinds[k], want)
		}
	}
	if all.kinds[parse.EvWake] == 0 || all.kinds[parse.EvExit] == 0 || some.finalized != 1 {
		t.Errorf("the trace has %d wakes and %d exits, Finalize called %d times; want > 0, > 0, 1",
			all.kinds[parse.EvWake], all.kinds[parse.EvExit], some.finalized)
	}
}

// TestErrorOneLine: the reader's multi-line dumps stay out of the message
// a user reads.
func TestErrorOneLine(t *testing.T) {
	err := &parse.Error{Path: "a.trace", Events: 112, Kind: parse.ErrTruncated,
		Detail: "broken trace: failed to advance: frontier:\n[gen=1]\n\nM 26291 [GoUnblock time=1 g=1]\n"}
	want := "a.trace: " + parse.ErrTruncated.Error() + " after 112 events: broken trace: failed to advance: frontier"
	if got := err.Error(); got != want {
		t.Errorf("Error() = %q; want %q", got, want)
	}
	if d := (&parse.Error{Kind: parse.ErrEmpty, Detail: "\nonly a dump"}).Error(); d != parse.ErrEmpty.Error() {
		t.Errorf("Error() with an empty first line = %q; want %q", d, parse.ErrEmpty.Error())
	}
}
