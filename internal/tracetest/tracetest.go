// Package tracetest serves the tests of primitives/: it records an execution
// trace around a function and reads blockscope's annotations back from it,
// and waits, under a hang guard, for goroutines to park.
package tracetest

import (
	"bytes"
	"context"
	"io"
	"maps"
	"runtime/trace"
	"slices"
	"sync"
	"testing"

	exptrace "golang.org/x/exp/trace"

	"github.com/blockscope/blockscope/internal/wire"
)

// LabelCategory is the log category of the labels that [Label] writes.
const LabelCategory = "tracetest"

// An Annotation is one blockscope annotation read back from a trace, with
// the goroutine that wrote it.
type Annotation struct {
	wire.Event
	G     exptrace.GoID // the goroutine that wrote the annotation
	Label string        // G's last label before the annotation (see Label); "" if none
}

// String returns the annotation's message with the object id 0, so that a
// test can spell the events it wants without knowing the id.
func (a Annotation) String() string {
	e := a.Event
	e.Object = wire.NoObject
	return e.Encode()
}

// Label names the calling goroutine in the trace being recorded: the
// annotations it writes from now on, until its next Label, carry name.
func Label(name string) { trace.Log(context.Background(), LabelCategory, name) }

// recording serializes Record: a process can write one trace at a time.
var recording sync.Mutex

// Record runs f while an execution trace is recorded and returns the
// blockscope annotations in the trace, decoded, in trace order. It waits
// for any other Record to finish, and skips the test if a trace is being
// recorded by someone else (go test -trace, say). It fails the test if the
// trace cannot be read or an annotation cannot be decoded.
func Record(t testing.TB, f func()) []Annotation {
	t.Helper()
	recording.Lock()
	defer recording.Unlock()
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skipf("trace.Start: %v (a trace is already being recorded?)", err)
	}
	func() {
		defer trace.Stop() // also if f fails or skips the test
		f()
	}()

	r, err := exptrace.NewReader(&buf)
	if err != nil {
		t.Fatalf("exptrace.NewReader: %v", err)
	}
	labels := make(map[exptrace.GoID]string)
	var as []Annotation
	for {
		e, err := r.ReadEvent()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("ReadEvent: %v", err)
		}
		if e.Kind() != exptrace.EventLog {
			continue
		}
		l := e.Log()
		switch {
		case l.Category == LabelCategory:
			labels[e.Goroutine()] = l.Message
		case wire.IsAnnotation(l.Category):
			ev, err := wire.Decode(l.Category, l.Message)
			if err != nil {
				t.Fatalf("wire.Decode: %v", err)
			}
			as = append(as, Annotation{ev, e.Goroutine(), labels[e.Goroutine()]})
		}
	}
	return as
}

// Of returns the annotations about object obj, in order.
func Of(as []Annotation, obj wire.ObjectID) []Annotation {
	var out []Annotation
	for _, a := range as {
		if a.Object == obj {
			out = append(out, a)
		}
	}
	return out
}

// Named returns the annotations about the object that an OpName
// annotation named name, in order. It fails the test if there is no such
// annotation, and reports an error for each annotation of the object whose
// kind is not kind.
func Named(t testing.TB, as []Annotation, kind wire.Kind, name string) []Annotation {
	t.Helper()
	obj := wire.NoObject
	for _, a := range as {
		if a.Op == wire.OpName && a.Key == name {
			obj = a.Object
		}
	}
	if obj == wire.NoObject {
		t.Fatalf("no name event for %q in the trace", name)
	}
	mine := Of(as, obj)
	for _, a := range mine {
		if a.Kind != kind {
			t.Errorf("event %q has kind %v; want %v", a.Encode(), a.Kind, kind)
		}
	}
	return mine
}

// Strings returns the annotations' messages with object id 0 (see
// [Annotation.String]).
func Strings(as []Annotation) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

// CheckByLabel checks, for each label in want, that the goroutines with
// that label wrote exactly want[label], in order, and that no other label
// wrote any annotation in as.
func CheckByLabel(t testing.TB, as []Annotation, want map[string][]wire.Event) {
	t.Helper()
	got := make(map[string][]wire.Event)
	for _, a := range as {
		got[a.Label] = append(got[a.Label], a.Event)
	}
	for _, label := range slices.Sorted(maps.Keys(want)) {
		if g, w := got[label], want[label]; !slices.Equal(g, w) {
			t.Errorf("events of %q:\n%s\nwant:\n%s", label, encode(g), encode(w))
		}
	}
	for _, label := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[label]; !ok {
			t.Errorf("unexpected events of %q:\n%s", label, encode(got[label]))
		}
	}
}

// encode lists events one a line, indented, for a failure message.
func encode(evs []wire.Event) string {
	var b []byte
	for _, e := range evs {
		b = append(b, '\t')
		b = e.Append(b)
		b = append(b, '\n')
	}
	return string(b)
}
