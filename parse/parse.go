// Package parse reads a Go execution trace in one streaming pass into a
// model of its goroutines and their blocking, feeding consumers as it goes.
package parse

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	exptrace "golang.org/x/exp/trace"

	"github.com/blockscope/blockscope/internal/wire"
)

// Errors callers branch on. Parse wraps them in an *Error.
var (
	ErrNotTrace   = errors.New("not a Go execution trace")
	ErrEmpty      = errors.New("trace holds no events")
	ErrTruncated  = errors.New("trace is truncated or corrupt")
	ErrUnreadable = errors.New("cannot read trace")
)

// Error is a trace that could not be read whole.
type Error struct {
	Path   string // "" for an anonymous reader
	Events int    // events read before the problem
	Kind   error  // one of the Err sentinels
	Detail string // what the reader said, which may run to many lines
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Path != "" {
		fmt.Fprintf(&b, "%s: ", e.Path)
	}
	b.WriteString(e.Kind.Error())
	if e.Events > 0 {
		fmt.Fprintf(&b, " after %d events", e.Events)
	}
	// One line: x/exp/trace may follow its first with a dump of the
	// reader's state, which helps nobody reading an error message.
	first, _, _ := strings.Cut(e.Detail, "\n")
	if first = strings.TrimSpace(strings.TrimSuffix(first, ":")); first != "" {
		b.WriteString(": ")
		b.WriteString(first)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Kind }

// Consumer receives the normalized events of one pass, then Finalize.
type Consumer interface {
	Event(t *Trace, ev *Event)
	Finalize(t *Trace)
}

// Selective is a Consumer that takes only some kinds of event: the pass
// calls its Event for those alone. Most events are runs and stops of
// goroutines, which most detectors have no use for.
type Selective interface {
	Consumer
	Kinds() Kinds
}

// Options control what the model keeps.
type Options struct {
	// Path names the trace in errors and in Trace.Path.
	Path string
	// DropBlocks keeps only per-goroutine sums of blocking, not each
	// interval (memory then follows goroutines, not events).
	DropBlocks bool
	// DropExited forgets an exited goroutine's record once nothing needs
	// it: memory then follows the goroutines alive at a time, not every
	// goroutine the trace ever showed. A record is kept while a kept
	// goroutine's creation chain runs through it (so a live goroutine's
	// creators, and the test that started it, can always be looked up),
	// and when a consumer asked for it with Trace.Retain. Counts,
	// NumGoroutines and Exited still count the dropped; Goroutines and All
	// yield only the records kept.
	DropExited bool
	// Stdin is what File reads for the path "-"; os.Stdin if nil.
	Stdin io.Reader
	// Module is the module under test, whose frames findings point at
	// (see Stacks.SetModule); "" to take it from the test functions'
	// package (see ModulePath).
	Module string
	// Jobs bounds the goroutines that decode the trace, a generation each
	// (see parallel.go): 0 means GOMAXPROCS, 1 the serial pass. Only an
	// uncompressed Go 1.22+ trace read by File, or from a *bytes.Reader,
	// of more than one generation is decoded in parallel; consumers see
	// the same events either way, in the same order, on one goroutine.
	Jobs int
	// Progress, if set, is called by File with the number of bytes of the
	// file read so far (from any decoding goroutine, so it must be safe
	// for concurrent use): for a progress bar. Not called for standard
	// input.
	Progress func(read int64)
}

func (o *Options) jobs() int {
	if o.Jobs > 0 {
		return o.Jobs
	}
	return runtime.GOMAXPROCS(0)
}

const maxWarnings = 20

// File opens a trace file, or reads Options.Stdin (os.Stdin by default)
// for "-", and calls Parse.
func File(path string, opts Options, consumers ...Consumer) (*Trace, error) {
	if path == "-" {
		if opts.Path == "" {
			opts.Path = "<stdin>"
		}
		r := opts.Stdin
		if r == nil {
			r = os.Stdin
		}
		return Parse(r, opts, consumers...)
	}
	if opts.Path == "" {
		opts.Path = path
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{Path: opts.Path, Kind: ErrUnreadable, Detail: unwrapPathError(err)}
	}
	defer f.Close()
	st, err := f.Stat()
	if err == nil && st.IsDir() {
		return nil, &Error{Path: opts.Path, Kind: ErrUnreadable, Detail: "is a directory"}
	}
	var r interface {
		io.Reader
		io.ReaderAt
	} = f
	if opts.Progress != nil {
		r = &countingFile{f: f, report: opts.Progress}
	}
	var whole *wholeFile
	if err == nil && st.Mode().IsRegular() {
		whole = &wholeFile{r, st.Size()}
	}
	return parse(r, whole, opts, consumers)
}

// countingFile tells Options.Progress how many bytes were read.
type countingFile struct {
	f      *os.File
	n      atomic.Int64
	report func(int64)
}

func (c *countingFile) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	c.report(c.n.Add(int64(n)))
	return n, err
}

func (c *countingFile) ReadAt(p []byte, off int64) (int, error) {
	n, err := c.f.ReadAt(p, off)
	c.report(c.n.Add(int64(n)))
	return n, err
}

func unwrapPathError(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Parse reads a trace from r in one pass: plain or gzip-compressed (by magic
// bytes), Go 1.11 to 1.26 formats. Consumers see every event after the
// model has taken it in, then Finalize.
//
// A nil *Trace comes with an error when nothing could be read. A trace that
// was read only in part comes back with Complete false, Err set, and the
// same error returned: the model holds what was read, and consumers were
// finalized on it.
func Parse(r io.Reader, opts Options, consumers ...Consumer) (*Trace, error) {
	var whole *wholeFile
	if br, ok := r.(*bytes.Reader); ok && int64(br.Len()) == br.Size() {
		whole = &wholeFile{br, br.Size()}
	}
	return parse(r, whole, opts, consumers)
}

// wholeFile is a trace that can be read at any offset, from its first
// byte: it may be decoded in parallel.
type wholeFile struct {
	ra   io.ReaderAt
	size int64
}

func parse(r io.Reader, whole *wholeFile, opts Options, consumers []Consumer) (*Trace, error) {
	fail := func(kind error, events int, detail string) error {
		return &Error{Path: opts.Path, Events: events, Kind: kind, Detail: detail}
	}
	br := bufio.NewReaderSize(r, 1<<16)
	magic, err := br.Peek(2)
	if len(magic) == 0 {
		if err != nil && err != io.EOF {
			return nil, fail(ErrUnreadable, 0, err.Error())
		}
		return nil, fail(ErrEmpty, 0, "empty file")
	}
	compressed := len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b
	var zr *gzipReader
	if compressed {
		gz, err := gzip.NewReader(br)
		if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
			return nil, fail(ErrTruncated, 0, "gzip-compressed, but truncated in its gzip header")
		}
		if err != nil {
			return nil, fail(ErrNotTrace, 0, "bad gzip data: "+err.Error())
		}
		defer gz.Close()
		zr = &gzipReader{r: gz}
		br = bufio.NewReaderSize(zr, 1<<16)
	}
	hdr, _ := br.Peek(16)
	version, ok := headerVersion(hdr)
	if !ok {
		if zr.truncated() {
			return nil, fail(ErrTruncated, 0, "gzip-compressed, but truncated before the end of the trace's header")
		}
		what := describeForeign(hdr, compressed)
		return nil, fail(ErrNotTrace, 0, what)
	}
	if more, _ := br.Peek(len(hdr) + 1); len(more) == len(hdr) {
		return nil, fail(ErrEmpty, 0, "header only")
	}
	if minor := v2Minor(version); whole != nil && !compressed && minor > 0 && opts.jobs() > 1 {
		if pieces, ok := splitGenerations(whole.ra, whole.size, minor); ok {
			b := newBuilder(opts, version, consumers)
			p := newPipeline(whole.ra, bytes.Clone(hdr), pieces, opts.jobs())
			return b.conclude(p.consume(b), zr, fail)
		}
	}
	er, err := newReader(br)
	if err != nil {
		if strings.Contains(err.Error(), "unsupported trace version") || strings.Contains(err.Error(), "not a Go execution trace") {
			return nil, fail(ErrNotTrace, 0, err.Error())
		}
		// Old-format traces are converted whole inside NewReader.
		return nil, fail(ErrTruncated, 0, err.Error())
	}

	b := newBuilder(opts, version, consumers)
	return b.conclude(b.read(er), zr, fail)
}

// conclude ends the pass that read ended with err (nil: the whole trace).
func (b *builder) conclude(err error, zr *gzipReader, fail func(kind error, events int, detail string) error) (*Trace, error) {
	if err != nil {
		if zr.truncated() {
			err = fmt.Errorf("the gzip-compressed file is truncated: %w", err)
		}
		if b.real == 0 {
			return nil, fail(ErrTruncated, 0, err.Error()+" (nothing readable)")
		}
		b.t.Err = fail(ErrTruncated, b.t.Events, err.Error())
	}
	if b.real == 0 {
		return nil, fail(ErrEmpty, 0, "header only")
	}
	b.finish()
	if b.t.Err != nil {
		return b.t, b.t.Err
	}
	return b.t, nil
}

// newReader is exptrace.NewReader, with a panic in it (on input it did not
// foresee) turned into an error: bad input must never crash blockscope.
func newReader(r io.Reader) (er *exptrace.Reader, err error) {
	defer func() {
		if p := recover(); p != nil {
			er, err = nil, fmt.Errorf("the trace reader failed: %v", p)
		}
	}()
	return exptrace.NewReader(r)
}

// read feeds the builder every event of er up to the end or the first
// error. A panic in x/exp/trace (in er.ReadEvent, or in an event's
// accessors, on input it did not foresee: a stack naming a string its
// table lacks) is turned into an error, as in newReader; one deferred
// recover serves the whole pass, and a consumer's panic is not recovered.
func (b *builder) read(er *exptrace.Reader) (err error) {
	defer b.recoverReader(&err)
	for {
		ev, err := er.ReadEvent()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		b.event(&ev, nil)
	}
}

// recoverReader turns a panic of x/exp/trace's into *err; a consumer's
// goes on.
func (b *builder) recoverReader(err *error) {
	if b.inConsumer {
		return
	}
	if p := recover(); p != nil {
		*err = fmt.Errorf("the trace reader failed: %v", p)
	}
}

// emit hands the event to every consumer that takes its kind.
func (b *builder) emit(ev *Event) {
	b.inConsumer = true
	for _, c := range b.byKind[ev.Kind] {
		c.Event(b.t, ev)
	}
	b.inConsumer = false
}

// headerVersion returns "1.26" from "go 1.26 trace\x00\x00\x00".
// gzipReader remembers whether a gzip stream ended before its end: a
// truncated file, which the trace reader may report as a short batch.
type gzipReader struct {
	r   io.Reader
	err error
}

func (z *gzipReader) Read(p []byte) (int, error) {
	n, err := z.r.Read(p)
	if err != nil && z.err == nil {
		z.err = err
	}
	return n, err
}

// truncated reports whether the stream ended early; false for nil.
func (z *gzipReader) truncated() bool {
	return z != nil && errors.Is(z.err, io.ErrUnexpectedEOF)
}

func headerVersion(hdr []byte) (string, bool) {
	if len(hdr) < 16 || !bytes.HasPrefix(hdr, []byte("go 1.")) {
		return "", false
	}
	v, rest, ok := bytes.Cut(hdr[3:], []byte(" trace"))
	if !ok || len(rest) == 0 && len(v) == 0 {
		return "", false
	}
	return validUTF8(string(v)), true
}

func describeForeign(hdr []byte, compressed bool) string {
	switch {
	case compressed && len(hdr) == 0:
		return "gzip-compressed, but empty"
	case compressed && len(hdr) >= 2 && hdr[0] == 0x1f && hdr[1] == 0x8b:
		return "gzip-compressed twice: decompress it once (gunzip) and try again"
	case compressed:
		return "gzip-compressed data that is not a trace (a pprof profile?)"
	case len(hdr) < 16 && bytes.HasPrefix([]byte("go 1."), hdr[:min(len(hdr), 5)]):
		return "header cut short"
	case bytes.HasPrefix(hdr, []byte("go 1.")):
		return fmt.Sprintf("bad header %q", hdr)
	}
	printable := true
	for _, c := range hdr {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' || c >= 0x7f {
			printable = false
			break
		}
	}
	if printable {
		if t := bytes.TrimLeft(hdr, " \t\r\n"); len(t) > 0 && t[0] == '{' {
			return fmt.Sprintf("starts with text %q: a JSON document (blockscope merge reads JSON reports)", hdr)
		}
		return fmt.Sprintf("starts with text %q", hdr)
	}
	return fmt.Sprintf("unknown header % x", hdr)
}

// builder holds the pass's state.
type builder struct {
	t          *Trace
	opts       Options
	consumers  []Consumer
	byKind     [numKinds][]Consumer // the consumers that take each kind, in order
	real       int                  // events other than Sync
	piece      int                  // the piece of a parallel pass being read (see parallel.go)
	inConsumer bool                 // a consumer's Event is running
	lastTs     int64
	ts         int64 // the event's time, made strictly increasing
	ev         Event
	reasons    map[string]string // interned reason strings
	first      bool
}

func newBuilder(opts Options, version string, consumers []Consumer) *builder {
	b := &builder{
		t: &Trace{
			Path:            opts.Path,
			GoVersion:       version,
			Complete:        true,
			Stacks:          newStacks(),
			BlockedByReason: make(map[string]time.Duration),
		},
		opts:      opts,
		consumers: consumers,
		reasons:   make(map[string]string),
		first:     true,
	}
	for _, c := range consumers {
		kinds := ^Kinds(0)
		if s, ok := c.(Selective); ok {
			kinds = s.Kinds()
		}
		for k := range EventKind(numKinds) {
			if kinds.Has(k) {
				b.byKind[k] = append(b.byKind[k], c)
			}
		}
	}
	b.t.Stacks.SetModule(opts.Module)
	return b
}

func (b *builder) warn(format string, args ...any) {
	if len(b.t.Warnings) < maxWarnings {
		b.t.Warnings = append(b.t.Warnings, fmt.Sprintf(format, args...))
	} else if len(b.t.Warnings) == maxWarnings {
		b.t.Warnings = append(b.t.Warnings, "more warnings omitted")
	}
}

func (b *builder) intern(s string) string {
	if v, ok := b.reasons[s]; ok {
		return v
	}
	v := validUTF8(strings.Clone(s))
	b.reasons[strings.Clone(s)] = v
	return v
}

// g returns the goroutine's record, adding it if new.
func (b *builder) g(id GoID) *Goroutine {
	if g := b.t.gs.get(id); g != nil {
		return g
	}
	return b.t.add(Goroutine{ID: id, Preexisting: true, Creator: NoGoroutine})
}

func (b *builder) now(*exptrace.Event) Time {
	return Time(b.ts - b.t.Start)
}

// event takes in one event of the trace. pre is its annotation when a
// decoder decoded it already (see parallel.go), else nil.
func (b *builder) event(ev *exptrace.Event, pre *preAnnotation) {
	b.t.Events++
	// A Reader makes the times it returns strictly increasing; the pieces
	// of a parallel pass are, each on its own, and are made so together.
	b.ts = int64(ev.Time())
	if b.ts <= b.lastTs {
		b.ts = b.lastTs + 1
	}
	b.lastTs = b.ts
	if b.first {
		b.t.Start = b.ts
		b.first = false
	}
	if b.ts > b.t.End {
		b.t.End = b.ts
	}
	switch ev.Kind() {
	case exptrace.EventSync:
		b.t.Stacks.newGeneration()
		return
	case exptrace.EventStateTransition:
		b.real++
		st := ev.StateTransition()
		if st.Resource.Kind == exptrace.ResourceGoroutine {
			b.goTransition(ev, &st)
		}
	case exptrace.EventLog:
		b.real++
		if pre == nil {
			p := decodeLog(ev)
			pre = &p
		}
		if pre.is {
			b.annotation(ev, pre)
		}
	default:
		b.real++
	}
}

func goState(s exptrace.GoState) State {
	switch s {
	case exptrace.GoRunnable:
		return StateRunnable
	case exptrace.GoRunning:
		return StateRunning
	case exptrace.GoSyscall:
		return StateSyscall
	case exptrace.GoWaiting:
		return StateWaiting
	case exptrace.GoNotExist:
		return StateExited
	}
	return StateUnknown
}

func (b *builder) goTransition(ev *exptrace.Event, st *exptrace.StateTransition) {
	id := GoID(st.Resource.Goroutine())
	from, to := st.Goroutine()
	if from == to || from == exptrace.GoUndetermined && b.piece > 0 {
		// A status event of a generation after the first: the pass knows
		// the goroutine's state already (a Reader of the whole trace
		// reports it as no change).
		return
	}
	now := b.now(ev)
	stacks := b.t.Stacks
	if actor := GoID(ev.Goroutine()); actor != id && actor != GoID(exptrace.NoGoroutine) && ev.Stack() != exptrace.NoStack {
		// A creation or a wake carries the acting goroutine's own stack:
		// it may name that goroutine's entry and test when nothing else
		// does (a test goroutine that never blocks but starts others).
		if a := b.g(actor); a.Entry == "" || a.Entry == "testing.tRunner" && a.TestFunc == "" {
			b.classify(a, stacks.intern(ev.Stack()))
		}
	}
	g := b.g(id)
	if st.Stack != exptrace.NoStack && (g.Entry == "" || g.Entry == "testing.tRunner" && g.TestFunc == "") {
		b.classify(g, stacks.intern(st.Stack))
	}

	out := &b.ev
	*out = Event{Time: now, G: id, Peer: NoGoroutine}
	switch {
	case from == exptrace.GoNotExist && to != exptrace.GoNotExist:
		// Creation: the event's goroutine is the creator.
		g.Preexisting = false
		g.Created = now
		g.Creator = GoID(ev.Goroutine())
		if g.Creator == GoID(exptrace.NoGoroutine) {
			g.Creator = NoGoroutine
		}
		if cr := b.t.gs.get(g.Creator); cr != nil && cr != g && !g.held {
			cr.kids++ // the creator's record is kept while g's is
			g.held = true
		}
		g.CreateStack = stacks.intern(ev.Stack())
		g.StartStack = stacks.intern(st.Stack)
		g.State, g.Since = goState(to), now
		out.Kind, out.Peer, out.Stack, out.PeerStack = EvCreate, g.Creator, g.StartStack, g.CreateStack
	case from == exptrace.GoUndetermined:
		// A status event: the goroutine existed before this generation.
		// One emitted when another goroutine first touches it carries no
		// stack; the next generation's may.
		switch {
		case g.State == StateUnknown:
			// Untouched until now, so in this state since the trace
			// began (or before: Since is a lower bound).
			g.State, g.Since = goState(to), 0
			if to == exptrace.GoWaiting {
				g.Stack = stacks.intern(st.Stack)
				g.Reason = b.reason(st.Reason, g.Stack)
				g.BlockCount++
			}
		case g.State == StateWaiting && to == exptrace.GoWaiting && g.Stack == NoStack && st.Stack != exptrace.NoStack:
			g.Stack = stacks.intern(st.Stack)
			if g.Reason == ReasonUnknown {
				g.Reason = b.reason(st.Reason, g.Stack)
			}
		}
		return
	case to == exptrace.GoWaiting && from != exptrace.GoWaiting:
		g.Stack = stacks.intern(st.Stack)
		g.Reason = b.reason(st.Reason, g.Stack)
		g.State, g.Since = StateWaiting, now
		g.BlockCount++
		out.Kind, out.Reason, out.Stack = EvBlock, g.Reason, g.Stack
	case from == exptrace.GoWaiting && to != exptrace.GoWaiting:
		waker := GoID(ev.Goroutine())
		if waker == GoID(exptrace.NoGoroutine) || waker == id {
			waker = NoGoroutine
		}
		wstack := NoStack
		if waker != NoGoroutine {
			wstack = stacks.intern(ev.Stack())
		}
		out.Kind, out.Peer, out.PeerStack = EvWake, waker, wstack
		out.Reason, out.Stack, out.Start = g.Reason, g.Stack, g.Since
		b.endBlock(g, now, waker, wstack)
		g.State, g.Since = goState(to), now
		if to == exptrace.GoNotExist {
			b.exit(g, now)
			out.Kind = EvExit
		}
	case to == exptrace.GoNotExist:
		b.exit(g, now)
		out.Kind = EvExit
	case to == exptrace.GoRunning:
		out.Kind, out.Start = EvRun, g.Since
		if g.State == StateSyscall {
			out.Start = now // back from the system call right away
		}
		g.State, g.Since = StateRunning, now
	default:
		g.State, g.Since = goState(to), now
		if from != exptrace.GoRunning {
			return
		}
		out.Kind, out.Reason = EvStop, b.intern(st.Reason)
		if to == exptrace.GoSyscall {
			out.Stack = stacks.intern(st.Stack)
		}
	}
	b.emit(out)
	if out.Kind == EvExit && b.opts.DropExited {
		b.t.release(g)
	}
}

func (b *builder) exit(g *Goroutine, now Time) {
	g.State, g.Since, g.Exited = StateExited, now, now
	g.Reason, g.Stack = "", NoStack
}

// endBlock closes the goroutine's open block, woken by waker.
func (b *builder) endBlock(g *Goroutine, now Time, waker GoID, wstack StackID) {
	if g.State != StateWaiting {
		return
	}
	d := time.Duration(now - g.Since)
	g.BlockedTime += d
	b.t.BlockedByReason[g.Reason] += d
	if !b.opts.DropBlocks {
		g.Blocks = append(g.Blocks, Block{
			Start: g.Since, End: now, Reason: g.Reason, Stack: g.Stack,
			Waker: waker, WakerStack: wstack,
		})
	}
	g.Reason, g.Stack = "", NoStack
}

func (b *builder) reason(r string, stack StackID) string {
	if r == "" {
		return inferReason(b.t.Stacks, stack)
	}
	return b.intern(r)
}

// classify sets the goroutine's entry function, system flag and test
// function from a stack it was seen with.
func (b *builder) classify(g *Goroutine, id StackID) {
	s := b.t.Stacks
	n := s.Depth(id)
	if n == 0 {
		return
	}
	if g.Entry == "" {
		outer := s.Frame(id, n-1).Func
		if outer == "runtime.goexit" && n > 1 {
			outer = s.Frame(id, n-2).Func
		}
		g.Entry = outer
		g.System = isSystemEntry(outer)
	}
	for i := 1; i < n && g.TestFunc == ""; i++ {
		if s.Frame(id, i).Func != "testing.tRunner" {
			continue
		}
		// The test's function is what tRunner calls; a stack caught in
		// tRunner's own work (a call into package testing) does not say,
		// nor does one caught in the runtime before the test's frame was
		// set up (runtime.asyncPreempt or morestack right under tRunner).
		if f := s.Frame(id, i-1); f.Package() != "testing" && f.Package() != "runtime" {
			g.TestFunc = f.Func
			if s.module == "" {
				s.SetModule(ModulePath(f.Package()))
			}
		}
		break
	}
}

// isSystemEntry reports whether a goroutine starting in fn belongs to the
// runtime or the tracer.
func isSystemEntry(fn string) bool {
	if fn == "runtime.main" {
		return false
	}
	return strings.HasPrefix(fn, "runtime.") || strings.HasPrefix(fn, "runtime/trace.")
}

// preAnnotation is a log event decoded: whether it is an annotation, and
// the annotation or why it does not decode.
type preAnnotation struct {
	is   bool
	we   wire.Event
	err  error
	redo bool // decoding it panicked: the builder must try again
}

// decodeLog decodes a log event's annotation, if it is one. It needs
// nothing of the builder, so a parallel pass's decoders do it.
func decodeLog(ev *exptrace.Event) preAnnotation {
	lg := ev.Log()
	if !wire.IsAnnotation(lg.Category) {
		return preAnnotation{}
	}
	we, err := wire.Decode(lg.Category, lg.Message)
	we.Key = validUTF8(we.Key)
	return preAnnotation{is: true, we: we, err: err}
}

func (b *builder) annotation(ev *exptrace.Event, pre *preAnnotation) {
	we, err := pre.we, pre.err
	if err != nil {
		b.t.BadAnnotations++
		b.warn("%v", err)
		return
	}
	b.t.Annotations++
	out := &b.ev
	*out = Event{
		Kind: EvAnnotation, Time: b.now(ev), G: GoID(ev.Goroutine()), Peer: NoGoroutine,
		Stack: b.t.Stacks.intern(ev.Stack()), Annotation: we,
	}
	b.t.noteObject(we, out.Stack)
	b.emit(out)
}

// finish closes the books at the end of the trace and finalizes consumers.
func (b *builder) finish() {
	end := Time(b.t.End - b.t.Start)
	for g := range b.t.All() {
		if g.State == StateWaiting {
			d := time.Duration(end - g.Since)
			g.BlockedTime += d
			b.t.BlockedByReason[g.Reason] += d
		}
	}
	if b.t.Err != nil {
		b.t.Complete = false
	}
	b.t.indexTests()
	for _, c := range b.consumers {
		c.Finalize(b.t)
	}
}
