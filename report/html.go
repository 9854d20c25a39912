package report

import (
	"bytes"
	"cmp"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
)

//go:embed html
var htmlAssets embed.FS

var pageTemplate = template.Must(template.ParseFS(htmlAssets, "html/page.html"))

// Caps on what the page lists beyond the timeline's own limits.
const (
	maxStuckLanes = 200 // leaked and deadlocked goroutines given a lane past TimelineLimits.Lanes
	maxPanels     = 40  // locks, semaphores and singleflight keys, each
	maxHolders    = 5   // holders blamed per lock
)

var _ = register(&Format{
	Name:   "html",
	Doc:    "one self-contained HTML page: the findings, a timeline of blocking and charts per primitive, for a browser",
	Gather: func() Gatherer { return NewTimeline(DefaultTimelineLimits()) },
	Write:  HTML,
})

// HTML writes the report as one self-contained HTML page: the findings,
// and for each trace a timeline of blocking and charts per primitive drawn
// from the [Timeline] gathered in its pass (a.Timelines; without them, as
// for reports merged from JSON, the page has the findings only). The page
// needs no network: its script, style and data are all inside it.
func HTML(w io.Writer, a *Analysis) error {
	data, err := htmlData(a)
	if err != nil {
		return err
	}
	css, err := htmlAssets.ReadFile("html/page.css")
	if err != nil {
		return fmt.Errorf("internal error: %w", err)
	}
	js, err := htmlAssets.ReadFile("html/page.js")
	if err != nil {
		return fmt.Errorf("internal error: %w", err)
	}
	title := "blockscope"
	if len(a.Traces) == 1 {
		title += ": " + a.Traces[0].Path
	} else {
		title += fmt.Sprintf(": %d traces", len(a.Traces))
	}
	return pageTemplate.Execute(w, map[string]any{
		"Title": title,
		"CSS":   template.CSS(css),
		"JS":    template.JS(js),
		"Data":  template.JS(data), // json.Marshal escapes <, > and &: safe inside <script>
	})
}

// htmlData is the JSON document the page draws from.
func htmlData(a *Analysis) ([]byte, error) {
	p := &page{Schema: Schema, Traces: a.Traces, Findings: a.Findings, Timelines: []pageTrace{}}
	p.Traces = nonNil(p.Traces)
	p.Findings = nonNil(p.Findings)
	for _, b := range waitBuckets {
		p.Buckets = append(p.Buckets, int64(b))
	}
	for i, tl := range a.Timelines {
		p.Timelines = append(p.Timelines, tl.page(stuckGoroutines(a.Findings, i)))
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(true)
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("encoding the page's data: %w", err)
	}
	return bytes.TrimSpace(b.Bytes()), nil
}

// page is the JSON document embedded in the HTML report.
type page struct {
	Schema   int         `json:"schema"`
	Traces   []TraceInfo `json:"traces"`
	Findings []Finding   `json:"findings"`
	Buckets  []int64     `json:"wait_buckets_ns"`
	// Timelines has one entry per trace, in the order of Traces, when the
	// report was made from the traces themselves.
	Timelines []pageTrace `json:"timelines"`
}

// pageTrace is what the page draws of one trace.
type pageTrace struct {
	Path       string        `json:"path"`
	Timeline   pageTimeline  `json:"timeline"`
	Locks      []pageLock    `json:"locks"`
	Semaphores []pageSema    `json:"semaphores"`
	Flights    []pageFlights `json:"singleflight"`
	// LeftOut says, in words, what the page does not show.
	LeftOut []string `json:"left_out"`
}

// pageTimeline is what the timeline draws. Intervals and marks are arrays
// to keep big pages small:
//
//	interval: [start, end, reason, stack, waker] or, merged or still open
//	          at the end, [start, end, reason, stack, waker, open, n, blocked]
//	mark:     [time, object, op, seq, ref, stack]
//
// Times are ns from the trace's start; reason, object, op and stack index
// Reasons, Objects, Ops and Stacks (-1: none); waker is -1 for a timer,
// the network poller or several wakers.
type pageTimeline struct {
	End     int64        `json:"end_ns"`
	Quantum int64        `json:"merged_below_ns"`
	Reasons []string     `json:"reasons"`
	Ops     []string     `json:"ops"`
	Objects []pageObject `json:"objects"`
	Frames  []pageFrame  `json:"frames"`
	Stacks  [][]int32    `json:"stacks"`
	Groups  []pageGroup  `json:"groups"`
}

// pageFrame is a frame of a stack the timeline shows; User marks the
// user's own code (parse.Frame.IsUser).
type pageFrame struct {
	parse.Frame
	User bool `json:"user,omitempty"`
}

type pageObject struct {
	Kind string        `json:"kind"`
	ID   wire.ObjectID `json:"id"`
	Name string        `json:"name,omitempty"`
}

// pageGroup is the lanes of one creation site, or the stuck goroutines
// pinned on top.
type pageGroup struct {
	Site       string     `json:"site"`
	Stuck      bool       `json:"stuck,omitempty"`
	Goroutines int        `json:"goroutines"`
	Blocked    int64      `json:"blocked_ns"`
	Lanes      []pageLane `json:"lanes"`
}

type pageLane struct {
	G       parse.GoID `json:"g"`                // -1 for a site's shared lane
	Shared  int        `json:"shared,omitempty"` // goroutines drawn on a shared lane
	Entry   string     `json:"entry,omitempty"`
	Site    string     `json:"site,omitempty"`  // for a stuck goroutine, pinned away from its site
	Stuck   string     `json:"stuck,omitempty"` // the kind of finding that pins it
	Creator parse.GoID `json:"creator"`
	Created int64      `json:"created_ns"`
	Exited  int64      `json:"exited_ns"` // -1 if it did not exit
	State   string     `json:"state"`
	Iv      [][]int64  `json:"iv"`
	Marks   [][]int64  `json:"marks,omitempty"`

	site string // its creation site, whether pinned or not
}

type pageLock struct {
	Name     string       `json:"name"`
	Evidence string       `json:"evidence"`
	Hist     []int        `json:"hist"`
	Waits    int          `json:"waits"`
	Fast     int          `json:"no_wait_since_first,omitempty"` // acquisitions that did not wait, from the first wait on (annotated locks)
	Total    int64        `json:"total_ns"`
	Max      int64        `json:"max_ns"`
	Over     int          `json:"over_1ms"`
	Holders  []pageHolder `json:"holders"`
}

type pageHolder struct {
	Location  parse.Frame `json:"location"`
	Goroutine parse.GoID  `json:"goroutine"`
	Waits     int         `json:"waits"`
	Total     int64       `json:"total_ns"`
}

type pageSema struct {
	Name     string     `json:"name"`
	Evidence string     `json:"evidence"`
	Max      int        `json:"max_depth"`
	Points   [][2]int64 `json:"points"` // [time, depth]
}

type pageFlights struct {
	Name     string     `json:"name"`
	Evidence string     `json:"evidence"`
	Flights  [][5]int64 `json:"flights"` // [start, end, leader, followers, stalled]
	More     int        `json:"more,omitempty"`
}

// drawn is what a Timeline keeps of its trace once the pass is over: the
// page's data, less the stuck goroutines, which are known only from the
// findings.
type drawn struct {
	path   string
	tm     pageTimeline // without Groups
	lanes  []pageLane   // goroutines with a lane of their own
	shared []pageLane   // the sites' shared lanes
	// blockedAtEnd are the goroutines still blocked at the end with no
	// lane of their own: a finding may pin them.
	blockedAtEnd map[parse.GoID]pageLane
	locks        []pageLock
	semas        []pageSema
	flights      []pageFlights
	left         []string
}

// draw turns what the pass gathered into the page's data, while the trace
// can still resolve goroutines and stacks.
func (tl *Timeline) draw(t *parse.Trace) *drawn {
	d := &drawn{path: t.Path, blockedAtEnd: map[parse.GoID]pageLane{}}
	tm := &d.tm
	tm.End = int64(t.Duration())
	tm.Quantum = int64(tl.quantum)
	tm.Ops = []string{wire.OpBad.String()} // indexed by wire.Op: Ops lists 1, 2, ...
	for _, op := range wire.Ops() {
		tm.Ops = append(tm.Ops, op.String())
	}
	// The objects the marks drawn refer to, numbered as the page meets them.
	objects := map[wire.ObjectID]int64{}
	object := func(m mark) int64 {
		i, ok := objects[m.obj]
		if !ok {
			i = int64(len(tm.Objects))
			objects[m.obj] = i
			tm.Objects = append(tm.Objects, pageObject{Kind: m.kind.String(), ID: m.obj, Name: tl.names[m.obj]})
		}
		return i
	}
	for _, id := range slices.Sorted(maps.Keys(tl.lanes)) {
		l := tl.lanes[id]
		if l.shared != nil {
			continue
		}
		if l.system {
			tl.left.systemLanes++
			continue
		}
		d.lanes = append(d.lanes, tl.pageLane(l, object))
	}
	for _, site := range slices.Sorted(maps.Keys(tl.sites)) {
		l := tl.sites[site]
		d.shared = append(d.shared, pageLane{G: parse.NoGoroutine, Shared: l.n, Creator: parse.NoGoroutine, Exited: -1, State: "several", Iv: tl.pageIntervals(l.iv), site: site})
	}
	// Goroutines blocked at the end on a site's shared lane may be pinned
	// by a finding: each keeps the block it is stuck in.
	end := parse.Time(t.End - t.Start)
	for g := range t.All() {
		if g.System || g.State != parse.StateWaiting {
			continue
		}
		if l := tl.lanes[g.ID]; l != nil && l.shared == nil {
			continue
		}
		if len(d.blockedAtEnd) >= maxBlockedAtEnd {
			break
		}
		l := &tlLane{g: g.ID, site: siteOf(t, g.ID), exited: -1}
		l.facts(t)
		l.iv = []interval{{start: g.Since, end: end, blocked: end - g.Since, waker: parse.NoGoroutine,
			stack: tl.stack(g.Stack), reason: tl.reason(g.Reason), n: 1, open: true}}
		d.blockedAtEnd[g.ID] = tl.pageLane(l, nil) // no marks
	}
	tm.Reasons = slices.Clone(tl.reasons)
	tm.Frames, tm.Stacks = pageStacks(t.Stacks, tl.stackL)
	// Lists are never null, so the page need not check.
	tm.Reasons = nonNil(tm.Reasons)
	tm.Objects = nonNil(tm.Objects)
	tm.Frames = nonNil(tm.Frames)
	tm.Stacks = nonNil(tm.Stacks)
	d.locks = capPanels(tl.pageLocks(t), "locks", &tl.left)
	d.semas = capPanels(tl.pageSemas(), "semaphores", &tl.left)
	d.flights = capPanels(tl.pageFlights(), "singleflight keys", &tl.left)
	d.left = tl.leftOutText()
	return d
}

// maxBlockedAtEnd bounds the goroutines blocked at the end, without a
// lane of their own, that a finding may pin.
const maxBlockedAtEnd = 5000

// page is the page's data for this trace, with the goroutines of stuck
// (goroutine → finding kind) pinned on top.
func (tl *Timeline) page(stuck map[parse.GoID]string) pageTrace {
	d := tl.drawn
	if d == nil {
		return pageTrace{Timeline: pageTimeline{Groups: []pageGroup{}}, Locks: []pageLock{}, Semaphores: []pageSema{}, Flights: []pageFlights{}, LeftOut: []string{"the pass over this trace did not finish"}}
	}
	pt := pageTrace{Path: d.path, Timeline: d.tm, Locks: d.locks, Semaphores: d.semas, Flights: d.flights, LeftOut: slices.Clone(d.left)}
	pinned := pageGroup{Site: "Stuck at end: leaks, deadlocks", Stuck: true}
	groups := map[string]*pageGroup{}
	group := func(site string) *pageGroup {
		g := groups[site]
		if g == nil {
			g = &pageGroup{Site: site}
			groups[site] = g
		}
		return g
	}
	pin := func(l pageLane, kind string) {
		l.Stuck, l.Site = kind, l.site
		pinned.add(l)
	}
	for _, l := range d.lanes {
		if kind, ok := stuck[l.G]; ok {
			pin(l, kind)
			continue
		}
		group(l.site).add(l)
	}
	over := 0
	for _, id := range slices.Sorted(maps.Keys(stuck)) {
		l, ok := d.blockedAtEnd[id]
		if !ok {
			continue
		}
		if len(pinned.Lanes) >= tl.lim.Lanes+maxStuckLanes {
			over++
			continue
		}
		pin(l, stuck[id])
	}
	if over > 0 {
		pt.LeftOut = append(pt.LeftOut, fmt.Sprintf("%d stuck goroutines have no lane of their own (limit %d)", over, tl.lim.Lanes+maxStuckLanes))
	}
	for _, l := range d.shared {
		g := group(l.site)
		g.add(l)
		g.Goroutines += l.Shared - 1
	}
	pt.Timeline.Groups = []pageGroup{}
	if len(pinned.Lanes) > 0 {
		pt.Timeline.Groups = append(pt.Timeline.Groups, pinned)
	}
	rest := slices.Collect(maps.Values(groups))
	slices.SortFunc(rest, func(a, b *pageGroup) int {
		return cmp.Or(cmp.Compare(b.Blocked, a.Blocked), strings.Compare(a.Site, b.Site))
	})
	for _, g := range rest {
		pt.Timeline.Groups = append(pt.Timeline.Groups, *g)
	}
	return pt
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (g *pageGroup) add(l pageLane) {
	g.Lanes = append(g.Lanes, l)
	g.Goroutines++
	for _, iv := range l.Iv {
		if len(iv) == 8 {
			g.Blocked += iv[7]
		} else {
			g.Blocked += iv[1] - iv[0]
		}
	}
}

// stuckGoroutines maps each goroutine of trace's leak or deadlock
// findings to the finding's kind (deadlock first: a deadlocked goroutine
// is not reported again as a leak).
func stuckGoroutines(fs []Finding, trace int) map[parse.GoID]string {
	stuck := map[parse.GoID]string{}
	for _, kind := range []string{"deadlock", "leak"} {
		for _, f := range fs {
			if f.Kind != kind || len(f.Traces) == 0 || f.Traces[0] != trace {
				continue
			}
			for _, id := range f.Goroutines {
				if _, ok := stuck[id]; !ok {
					stuck[id] = kind
				}
			}
		}
	}
	return stuck
}

// pageLane is a lane as the page draws it; object numbers the objects
// of its marks.
func (tl *Timeline) pageLane(l *tlLane, object func(mark) int64) pageLane {
	lane := pageLane{
		G: l.g, Entry: l.entry, Creator: l.creator, Created: int64(l.created), Exited: int64(l.exited),
		State: l.state.String(), Iv: tl.pageIntervals(l.iv), site: l.site,
	}
	for _, m := range l.marks {
		lane.Marks = append(lane.Marks, []int64{int64(m.t), object(m), int64(m.op), int64(m.seq), int64(m.ref), int64(m.stack)})
	}
	return lane
}

func (tl *Timeline) pageIntervals(ivs []interval) [][]int64 {
	out := make([][]int64, 0, len(ivs))
	for _, iv := range ivs {
		a := []int64{int64(iv.start), int64(iv.end), int64(iv.reason), int64(iv.stack), int64(iv.waker)}
		if iv.open || iv.n > 1 {
			open := int64(0)
			if iv.open {
				open = 1
			}
			a = append(a, open, int64(iv.n), int64(iv.blocked))
		}
		out = append(out, a)
	}
	return out
}

// pageStacks returns the stacks the page shows, as indexes into a table
// of frames that holds each distinct frame once.
func pageStacks(s *parse.Stacks, ids []parse.StackID) ([]pageFrame, [][]int32) {
	index := map[parse.Frame]int32{}
	var frames []pageFrame
	stacks := make([][]int32, len(ids))
	for i, id := range ids {
		for _, f := range s.Frames(id) {
			j, ok := index[f]
			if !ok {
				j = int32(len(frames))
				index[f] = j
				frames = append(frames, pageFrame{Frame: f, User: f.IsUser()})
			}
			stacks[i] = append(stacks[i], j)
		}
	}
	return frames, stacks
}

// name is how the page names a primitive: `mutex 3 "cache"` for an
// annotated object, the key under which the runtime's waits were filed
// otherwise.
func (tl *Timeline) name(key string, kind wire.Kind, obj wire.ObjectID) (name, evidence string) {
	if obj == wire.NoObject {
		return key, string(detect.EvidenceRuntime)
	}
	return tl.objectName(kind, obj), string(detect.EvidenceAnnotations)
}

func (tl *Timeline) pageLocks(t *parse.Trace) []pageLock {
	out := []pageLock{}
	for key, s := range tl.locks {
		if s.waits == 0 {
			continue
		}
		pl := pageLock{Hist: s.hist, Waits: s.waits, Fast: s.fast, Total: int64(s.total), Max: int64(s.max), Holders: []pageHolder{}}
		pl.Name, pl.Evidence = tl.name(key, s.kind, s.obj)
		for i, b := range waitBuckets {
			if b >= time.Millisecond {
				pl.Over += s.hist[i+1]
			}
		}
		for f, b := range s.holders {
			pl.Holders = append(pl.Holders, pageHolder{Location: f, Goroutine: b.g, Waits: b.waits, Total: int64(b.total)})
		}
		slices.SortFunc(pl.Holders, func(a, b pageHolder) int {
			return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.Location.File, b.Location.File), cmp.Compare(a.Location.Line, b.Location.Line))
		})
		pl.Holders = pl.Holders[:min(len(pl.Holders), maxHolders)]
		out = append(out, pl)
	}
	slices.SortFunc(out, func(a, b pageLock) int { return cmp.Or(cmp.Compare(b.Total, a.Total), strings.Compare(a.Name, b.Name)) })
	return out
}

func (tl *Timeline) pageSemas() []pageSema {
	out := []pageSema{}
	for key, s := range tl.semas {
		if s.max == 0 {
			continue
		}
		ps := pageSema{Max: s.max}
		ps.Name, ps.Evidence = tl.name(key, wire.KindSemaphore, s.obj)
		ps.Points = [][2]int64{}
		for _, pt := range s.points {
			ps.Points = append(ps.Points, [2]int64{int64(pt.t), int64(pt.depth)})
		}
		out = append(out, ps)
	}
	slices.SortFunc(out, func(a, b pageSema) int { return cmp.Or(cmp.Compare(b.Max, a.Max), strings.Compare(a.Name, b.Name)) })
	return out
}

func (tl *Timeline) pageFlights() []pageFlights {
	out := []pageFlights{}
	for key, s := range tl.flights {
		pf := pageFlights{More: s.more}
		pf.Name, pf.Evidence = key, string(detect.EvidenceRuntime)
		if s.obj != wire.NoObject {
			pf.Name, pf.Evidence = tl.objectName(wire.KindSingleflight, s.obj)+" key "+fmt.Sprintf("%q", s.key), string(detect.EvidenceAnnotations)
		}
		for _, f := range s.flights {
			stalled := int64(0)
			if f.stalled {
				stalled = 1
			}
			pf.Flights = append(pf.Flights, [5]int64{int64(f.start), int64(f.end), int64(f.leader), int64(f.followers), stalled})
		}
		out = append(out, pf)
	}
	fanIn := func(p pageFlights) int64 {
		m := int64(0)
		for _, f := range p.Flights {
			m = max(m, f[3])
		}
		return m
	}
	slices.SortFunc(out, func(a, b pageFlights) int {
		return cmp.Or(cmp.Compare(fanIn(b), fanIn(a)), strings.Compare(a.Name, b.Name))
	})
	return out
}

// capPanels keeps the first maxPanels panels (the worst: they are
// sorted so), and says how many of what it left out.
func capPanels[T any](ps []T, what string, left *leftOut) []T {
	if len(ps) > maxPanels {
		left.panels = append(left.panels, fmt.Sprintf("%d %s past the %d with the most waiting have no chart", len(ps)-maxPanels, what, maxPanels))
		ps = ps[:maxPanels]
	}
	return ps
}

// leftOutText says what the limits kept off the page.
func (tl *Timeline) leftOutText() []string {
	var out []string
	l := tl.left
	if l.shared > 0 {
		out = append(out, fmt.Sprintf("%d goroutines are drawn together, one lane per creation site: of the %d lanes of their own, the goroutines alive keep theirs, and those that exited having blocked least gave theirs up", l.shared, tl.lim.Lanes))
	}
	if l.merged > 0 {
		out = append(out, fmt.Sprintf("%d blocking intervals were merged into their neighbours (intervals shorter than %v, and overlapping ones on a shared lane)", l.merged, tl.quantum.Duration()))
	}
	if l.marks > 0 {
		out = append(out, fmt.Sprintf("%d primitive operations are not drawn as marks (limit %d, or on a shared lane)", l.marks, tl.lim.Marks))
	}
	if l.stacks > 0 {
		out = append(out, fmt.Sprintf("%d intervals and marks have no stack (limit %d distinct stacks)", l.stacks, tl.lim.Stacks))
	}
	if l.points > 0 {
		out = append(out, fmt.Sprintf("%d semaphore queue-depth points were merged (each keeps the deeper of two)", l.points))
	}
	if l.flights > 0 {
		out = append(out, fmt.Sprintf("%d singleflight flights are not charted (past the first %d of a key, or of keys past the first %d)", l.flights, tl.lim.Flights, maxFlightKeys))
	}
	out = append(out, l.panels...)
	if l.systemLanes > 0 {
		out = append(out, fmt.Sprintf("%d runtime and tracer goroutines are not drawn", l.systemLanes))
	}
	if out == nil {
		out = []string{}
	}
	return out
}
