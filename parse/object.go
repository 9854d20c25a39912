package parse

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/blockscope/blockscope/internal/idmap"
	"github.com/blockscope/blockscope/internal/wire"
)

// Object is what the annotations tell about one object of blockscope's
// primitives: its kind, the name a user gave it, and where it was first
// used (the first annotation about it other than its naming).
type Object struct {
	ID    wire.ObjectID
	Kind  wire.Kind
	Name  string  // the name a user gave it, "" if none
	First StackID // the stack of its first use
	Op    wire.Op // the operation of its first use
}

// Object returns what the trace's annotations tell about object id, or
// nil for an object no annotation names.
func (t *Trace) Object(id wire.ObjectID) *Object {
	return t.objects.get(id)
}

// objectStore holds what the annotations tell about each object at a few
// bytes an object, however many a program makes (a WaitGroup a request):
// an object's kind and first use repeat across the objects made at one
// line, so each object holds the index of its (kind, first use) among
// those seen, and names, rarer, are kept apart.
type objectStore struct {
	firsts idmap.Map[wire.ObjectID, uint32] // index into uses
	uses   []objectUse
	index  map[objectUse]uint32
	names  map[wire.ObjectID]string
}

// objectUse is an object's kind and first use.
type objectUse struct {
	kind  wire.Kind
	op    wire.Op
	stack StackID
}

func (s *objectStore) get(id wire.ObjectID) *Object {
	i, ok := s.firsts.Get(id)
	if !ok {
		return nil
	}
	u := s.uses[i]
	return &Object{ID: id, Kind: u.kind, Name: s.names[id], First: u.stack, Op: u.op}
}

// set records object id's kind and first use.
func (s *objectStore) set(id wire.ObjectID, u objectUse) {
	i, ok := s.index[u]
	if !ok {
		if s.index == nil {
			s.index = make(map[objectUse]uint32)
		}
		i = uint32(len(s.uses))
		s.uses = append(s.uses, u)
		s.index[u] = i
	}
	s.firsts.Set(id, i)
}

// noteObject records an annotation's object: its kind and first use, and
// its name.
func (t *Trace) noteObject(e wire.Event, stack StackID) {
	if e.Object == wire.NoObject {
		return
	}
	s := &t.objects
	i, ok := s.firsts.Get(e.Object)
	switch {
	case !ok:
		u := objectUse{kind: e.Kind, stack: NoStack}
		if e.Op != wire.OpName {
			u.op, u.stack = e.Op, stack
		}
		s.set(e.Object, u)
	case e.Op != wire.OpName && s.uses[i].stack == NoStack:
		s.set(e.Object, objectUse{kind: s.uses[i].kind, op: e.Op, stack: stack})
	}
	if e.Op == wire.OpName {
		if s.names == nil {
			s.names = make(map[wire.ObjectID]string)
		}
		s.names[e.Object] = e.Key
	}
}

// kindTitles spell each kind of primitive as its type is called.
var kindTitles = map[wire.Kind]string{
	wire.KindMutex:        "Mutex",
	wire.KindRWMutex:      "RWMutex",
	wire.KindReentrant:    "ReentrantMutex",
	wire.KindCond:         "Cond",
	wire.KindOnce:         "Once",
	wire.KindOnceErr:      "OnceErr",
	wire.KindWaitGroup:    "WaitGroup",
	wire.KindSemaphore:    "Semaphore",
	wire.KindSingleflight: "singleflight.Group",
	wire.KindErrgroup:     "errgroup.Group",
	wire.KindChan:         "Chan",
}

// KindTitle spells a kind of primitive as its type is called: "Mutex",
// "WaitGroup", "singleflight.Group".
func KindTitle(k wire.Kind) string {
	if t, ok := kindTitles[k]; ok {
		return t
	}
	return k.String()
}

// ObjectRef is the short spelling of an object every report, message and
// graph uses: its kind, a short id, and the name a user gave it:
// `Mutex#2 "accounts"`, `WaitGroup#1`. [ParseObjectRef] reads it back.
func ObjectRef(k wire.Kind, id wire.ObjectID, name string) string {
	s := KindTitle(k) + "#" + strconv.FormatUint(uint64(id), 10)
	if name != "" {
		s += " " + strconv.Quote(name)
	}
	return s
}

// ObjectLabel is an object's full spelling: its ObjectRef and where it was
// first used, `Mutex#2 "accounts" (first locked in main.transfer at
// main.go:22)`; the ObjectRef alone when the trace has no annotation about
// it (kind then says what it is).
func (t *Trace) ObjectLabel(k wire.Kind, id wire.ObjectID) string {
	o := t.Object(id)
	if o == nil {
		return ObjectRef(k, id, "")
	}
	s := ObjectRef(o.Kind, id, o.Name)
	if o.First == NoStack || t.Stacks == nil {
		return s
	}
	loc, ok := t.Stacks.Location(o.First)
	if !ok || loc.File == "" {
		return s
	}
	return fmt.Sprintf("%s (first %s in %s at %s:%d)", s, firstUse(o.Op), shortFuncName(loc.Func), baseName(loc.File), loc.Line)
}

// ParseObjectRef reads an object's id from its ObjectRef or short id, as
// users copy it from a report: "Mutex#2", "mutex#2", "#2", "2". It also
// takes the kind's wire name ("mutex#2", as older graphs wrote it).
func ParseObjectRef(s string) (wire.ObjectID, error) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, ' '); i >= 0 {
		s = s[:i] // a name after the id
	}
	kind, num, hasKind := strings.Cut(s, "#")
	if !hasKind {
		num, kind = s, ""
	}
	if kind != "" && !knownKind(kind) {
		return 0, fmt.Errorf("object %q: unknown kind %q (want one of %s)", s, kind, strings.Join(kindList(), ", "))
	}
	id, err := strconv.ParseUint(num, 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("object %q: want an id as reports write it (Mutex#2, or 2)", s)
	}
	return wire.ObjectID(id), nil
}

func knownKind(s string) bool {
	for _, k := range wire.Kinds() {
		if strings.EqualFold(s, KindTitle(k)) || s == k.String() {
			return true
		}
	}
	return false
}

func kindList() []string {
	var out []string
	for _, k := range wire.Kinds() {
		out = append(out, KindTitle(k))
	}
	return out
}

// firstUse says what an object's first use did: "locked", "waited on".
func firstUse(op wire.Op) string {
	switch op {
	case wire.OpLock:
		return "locked"
	case wire.OpRLock:
		return "read-locked"
	case wire.OpUnlock, wire.OpRUnlock:
		return "unlocked"
	case wire.OpWait:
		return "waited on"
	case wire.OpAcquire:
		return "acquired"
	case wire.OpRelease:
		return "released"
	case wire.OpAdd:
		return "added to"
	case wire.OpLead, wire.OpFollow:
		return "called"
	case wire.OpSend:
		return "sent on"
	case wire.OpRecv:
		return "received from"
	case wire.OpSignal, wire.OpBroadcast:
		return "signalled"
	case wire.OpRun:
		return "run"
	}
	return "used"
}

// shortFuncName drops the package path: "main.(*store).get".
func shortFuncName(fn string) string {
	if i := strings.LastIndexByte(fn, '/'); i >= 0 {
		return fn[i+1:]
	}
	return fn
}

func baseName(file string) string {
	if i := strings.LastIndexByte(file, '/'); i >= 0 {
		return file[i+1:]
	}
	return file
}

// objectRefs matches ObjectRef's spellings in text.
var objectRefs = func() *regexp.Regexp {
	var titles []string
	for _, k := range wire.Kinds() {
		titles = append(titles, regexp.QuoteMeta(KindTitle(k)))
	}
	return regexp.MustCompile(`\b(` + strings.Join(titles, "|") + `)#(\d+)(?: "(?:[^"\\]|\\.)*")?`)
}()

// LabelObjects replaces each ObjectRef in s (a finding's object, say) by
// the object's ObjectLabel, which says where it was first used.
func (t *Trace) LabelObjects(s string) string {
	if t.objects.firsts.Len() == 0 {
		return s
	}
	return objectRefs.ReplaceAllStringFunc(s, func(ref string) string {
		m := objectRefs.FindStringSubmatch(ref)
		id, err := strconv.ParseUint(m[2], 10, 64)
		o := t.Object(wire.ObjectID(id))
		if err != nil || o == nil || KindTitle(o.Kind) != m[1] {
			return ref
		}
		return t.ObjectLabel(o.Kind, o.ID)
	})
}
