package detect

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/blockscope/blockscope/internal/idmap"
	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
)

// SingleflightFanIn reports singleflight flights that many callers, or
// callers that wait long, pile onto (a thundering herd behind one slow
// call), and flights that stall: their leader never returns while
// followers wait.
//
// A flight is one execution of the function passed to Do: its leader (the
// call that runs it) and its followers (the calls that joined it and
// wait for its result: its fan-in, the calls it suppressed). For each Group
// and key it counts flights, followers, the leader's duration and the
// followers' waits (p50, p99, max), and reports the key when a flight's
// fan-in reaches --sf-fanin or a follower waited at least --sf-wait,
// pointing at the line where the followers called Do: severity warning
// when the followers waited --sf-wait, info when a large herd was served
// quickly (singleflight doing its job, at a cost worth knowing).
// A flight whose leader is still running or blocked at the end of the
// trace while followers have waited at least --sf-wait is stalled
// (severity error): the finding points at the line the leader is blocked
// on, if it is blocked, and lists the followers' Do lines.
//
// Evidence: primitives/singleflight's annotations give the exact answer
// (confidence "exact"): which Group, which key, which flight each call
// joined. For golang.org/x/sync/singleflight, from the trace alone
// (confidence "per-call-site"), a follower is a goroutine blocked in
// WaitGroup.Wait under (*Group).Do and woken by a goroutine inside
// (*Group).doCall, its leader; the wakes one leader makes at the end of a
// call, of goroutines that blocked before the first of them, are one
// flight. Keys are unknown, so flights are grouped by the followers' Do
// line; a leader is seen only when it wakes its followers, so its
// duration is a lower bound (from the first follower's block), and
// DoChan followers, which do not block, are not seen. A stalled x/sync
// flight is followers blocked in Do at the end; its leader is a goroutine
// blocked inside doCall, identified when it is the only one or shares the
// followers' Do line.
//
// Flags (SingleflightOptions): --sf-fanin=N (default 10 followers),
// --sf-wait=DURATION (default 50ms).
//
// Known false positives: a key meant to be shared by many callers (a
// config reload) has a large fan-in by design; raise --sf-fanin.
//
// Wrong: every request for a hot key waits on one slow, unbounded call.
//
//	v, err, _ := g.Do(key, func() (any, error) {
//		return db.Query(key) // 2 s under load: every caller waits 2 s
//	})
//
// Right: bound the call, and serve a stale value while one flight
// refreshes it.
//
//	ch := g.DoChan(key, func() (any, error) {
//		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
//		defer cancel()
//		return db.QueryContext(ctx, key)
//	})
//	select {
//	case r := <-ch:
//		return r.Val, r.Err
//	case <-time.After(20 * time.Millisecond):
//		return cache.Stale(key)
//	}
var SingleflightFanIn = register(&Detector{
	Name: "singleflight-fanin",
	Doc:  "singleflight flights with a large fan-in or long follower waits, and flights stalled with followers waiting",
	New:  func(cfg *Config) Analyzer { return newSFFanIn(cfg.Singleflight) },
})

// SingleflightOptions configure the singleflight-fanin detector.
type SingleflightOptions struct {
	// FanIn is the number of followers that makes a flight a herd.
	FanIn int
	// Wait is the follower wait that makes a flight reported, and the
	// wait after which a flight still open at the end of the trace is
	// stalled.
	Wait time.Duration
}

// DefaultSingleflightOptions returns the documented defaults.
func DefaultSingleflightOptions() SingleflightOptions {
	return SingleflightOptions{FanIn: 10, Wait: 50 * time.Millisecond}
}

// The singleflight functions that identify followers and leaders, from the
// trace alone. Tests add primitives/singleflight's own to compare the two
// evidences on one run.
var (
	sfDoFuncs     = []string{"golang.org/x/sync/singleflight.(*Group).Do"}
	sfDoCallFuncs = []string{"golang.org/x/sync/singleflight.(*Group).doCall"}
	sfWaitFuncs   = []string{"sync.(*WaitGroup).Wait"}
	sfDoChanFuncs = []string{parse.PrimitivesPath + "singleflight.(*Group).DoChan"}
)

// sfFollower is one call that joined a flight.
type sfFollower struct {
	g      parse.GoID
	at     parse.Time // when it joined (x/sync: when it blocked)
	stack  parse.StackID
	woke   parse.Time // when it was released; -1 if not yet
	doChan bool       // a DoChan call: it does not wait in place
}

// sfKey names what flights are grouped by: an annotated Group and key, or
// an x/sync Do call site.
type sfKey struct {
	obj  wire.ObjectID
	key  string
	site parse.Frame
}

// sfFlight is one flight.
type sfFlight struct {
	k         sfKey
	seq       uint64
	virtual   bool
	leader    parse.GoID
	lead      parse.Time // when it started (x/sync: the first follower's block)
	leadStack parse.StackID
	followers []sfFollower
	index     map[parse.GoID]int // follower → its index, for wakes
	returned  bool
	ret       parse.Time // when the leader's call returned
	pending   int        // Do followers not yet woken
}

// sfAgg sums the flights of one key.
type sfAgg struct {
	k          sfKey
	flights    int
	flagged    int
	suppressed int
	maxFanIn   int
	maxLead    time.Duration
	waits      durDist
	worst      *sfFlight // the flagged flight with most followers
	worstWait  time.Duration
}

type sfFlightID struct {
	obj wire.ObjectID
	seq uint64
}

type sfFanIn struct {
	opts     SingleflightOptions
	st       stackTable
	names    map[wire.ObjectID]string
	open     map[sfFlightID]*sfFlight
	vopen    map[parse.GoID]*sfFlight // x/sync: the flight each leader is waking
	aggs     map[sfKey]*sfAgg
	order    []*sfAgg
	findings []Finding

	// What goroutines do now, from the events, for when the model does
	// not know them: blocked ones (state StateWaiting; an entry stays,
	// unblocked, until its goroutine exits; none for a goroutine the
	// model has, whose end state endStates takes from the model), and
	// leaders (true once the leader exited).
	blocked map[parse.GoID]*sfState
	leaders idmap.Map[parse.GoID, bool]
}

// sfState is a goroutine's state: at the end of the trace, or while
// blocked.
type sfState struct {
	g      parse.GoID
	state  parse.State
	reason string
	stack  parse.StackID
	since  parse.Time
}

func newSFFanIn(opts SingleflightOptions) *sfFanIn {
	def := DefaultSingleflightOptions()
	if opts.FanIn <= 0 {
		opts.FanIn = def.FanIn
	}
	if opts.Wait <= 0 {
		opts.Wait = def.Wait
	}
	return &sfFanIn{
		opts:  opts,
		names: make(map[wire.ObjectID]string),
		open:  make(map[sfFlightID]*sfFlight),
		vopen: make(map[parse.GoID]*sfFlight),
		aggs:  make(map[sfKey]*sfAgg),

		blocked: make(map[parse.GoID]*sfState),
	}
}

// Kinds are the events sfFanIn takes (see parse.Selective).
func (*sfFanIn) Kinds() parse.Kinds {
	return parse.KindsOf(parse.EvAnnotation, parse.EvBlock, parse.EvWake, parse.EvExit)
}

// Event follows annotated flights and x/sync followers' wakes.
func (s *sfFanIn) Event(t *parse.Trace, ev *parse.Event) {
	if s.st == nil {
		s.st = t.Stacks
	}
	st := s.st
	switch ev.Kind {
	case parse.EvAnnotation:
		if ev.Annotation.Kind == wire.KindSingleflight {
			s.annotation(st, ev)
		}
	case parse.EvBlock:
		if t.Goroutine(ev.G) != nil {
			break // endStates takes the model's state
		}
		b := s.blocked[ev.G]
		if b == nil {
			b = new(sfState)
			s.blocked[ev.G] = b
		}
		*b = sfState{g: ev.G, state: parse.StateWaiting, reason: ev.Reason, stack: ev.Stack, since: ev.Time}
	case parse.EvExit:
		delete(s.blocked, ev.G)
		if gone := s.leaders.Lookup(ev.G); gone != nil {
			*gone = true
		}
	case parse.EvWake:
		if b := s.blocked[ev.G]; b != nil {
			b.state = parse.StateUnknown
		}
		if ev.Reason != parse.ReasonSync || ev.Peer == parse.NoGoroutine ||
			!hasAny(st, ev.Stack, sfDoFuncs) || !hasAny(st, ev.Stack, sfWaitFuncs) ||
			!hasAny(st, ev.PeerStack, sfDoCallFuncs) {
			return
		}
		fl := s.vopen[ev.Peer]
		if fl != nil && ev.Start > fl.ret {
			// Blocked after this leader's previous flight ended: a new flight.
			s.close(st, fl)
			fl = nil
		}
		if fl == nil {
			site, _ := st.Location(ev.Stack)
			fl = &sfFlight{
				k: sfKey{site: site}, virtual: true,
				leader: ev.Peer, lead: ev.Start, leadStack: ev.PeerStack,
				returned: true, ret: ev.Time,
			}
			s.vopen[ev.Peer] = fl
		}
		fl.lead = min(fl.lead, ev.Start)
		fl.followers = append(fl.followers, sfFollower{g: ev.G, at: ev.Start, stack: ev.Stack, woke: ev.Time})
	}
}

func (s *sfFanIn) annotation(st stackTable, ev *parse.Event) {
	a := &ev.Annotation
	id := sfFlightID{a.Object, a.Seq}
	switch a.Op {
	case wire.OpName:
		s.names[a.Object] = a.Key
	case wire.OpLead:
		s.leaders.Ref(ev.G)
		s.open[id] = &sfFlight{
			k: sfKey{obj: a.Object, key: a.Key}, seq: a.Seq,
			leader: ev.G, lead: ev.Time, leadStack: ev.Stack,
		}
	case wire.OpFollow:
		fl := s.open[id]
		if fl == nil {
			// The flight began before the trace did.
			fl = &sfFlight{k: sfKey{obj: a.Object, key: a.Key}, seq: a.Seq, leader: parse.NoGoroutine, lead: ev.Time}
			s.open[id] = fl
		}
		f := sfFollower{g: ev.G, at: ev.Time, stack: ev.Stack, woke: -1, doChan: hasAny(st, ev.Stack, sfDoChanFuncs)}
		if !f.doChan {
			fl.pending++
			if fl.index == nil {
				fl.index = make(map[parse.GoID]int)
			}
			fl.index[ev.G] = len(fl.followers)
		}
		fl.followers = append(fl.followers, f)
	case wire.OpReturn:
		fl := s.open[id]
		if fl == nil {
			return // nothing of it was seen but its end
		}
		fl.returned, fl.ret = true, ev.Time
		if fl.pending == 0 {
			s.close(st, fl)
		}
	case wire.OpWake:
		fl := s.open[id]
		if fl == nil {
			return
		}
		if i, ok := fl.index[ev.G]; ok && fl.followers[i].woke < 0 {
			fl.followers[i].woke = ev.Time
			fl.pending--
		}
		if fl.returned && fl.pending == 0 {
			s.close(st, fl)
		}
	}
}

// wait is how long a follower waited for the flight: until it was
// released, or, for DoChan, until the result was ready.
func (fl *sfFlight) wait(f *sfFollower) time.Duration {
	end := f.woke
	if end < 0 {
		end = fl.ret
	}
	return time.Duration(max(end-f.at, 0))
}

// close accounts a finished flight to its key.
func (s *sfFanIn) close(st stackTable, fl *sfFlight) {
	if fl.virtual {
		delete(s.vopen, fl.leader)
	} else {
		delete(s.open, sfFlightID{fl.k.obj, fl.seq})
	}
	ag := s.aggs[fl.k]
	if ag == nil {
		ag = &sfAgg{k: fl.k}
		s.aggs[fl.k] = ag
		s.order = append(s.order, ag)
	}
	ag.flights++
	ag.suppressed += len(fl.followers)
	ag.maxFanIn = max(ag.maxFanIn, len(fl.followers))
	if fl.leader != parse.NoGoroutine || fl.virtual {
		ag.maxLead = max(ag.maxLead, time.Duration(fl.ret-fl.lead))
	}
	var maxWait time.Duration
	for i := range fl.followers {
		w := fl.wait(&fl.followers[i])
		ag.waits.add(w)
		maxWait = max(maxWait, w)
	}
	if len(fl.followers) < s.opts.FanIn && maxWait < s.opts.Wait {
		return
	}
	ag.flagged++
	if ag.worst == nil || len(fl.followers) > len(ag.worst.followers) ||
		len(fl.followers) == len(ag.worst.followers) && maxWait > ag.worstWait {
		fl.index = nil
		ag.worst, ag.worstWait = fl, maxWait
	}
}

// Finalize closes the flights still open and reports.
func (s *sfFanIn) Finalize(t *parse.Trace) {
	if s.st == nil {
		s.st = t.Stacks
	}
	st := s.st
	end := parse.Time(t.End - t.Start)
	states := s.endStates(t)
	var stalled []*sfFlight
	for _, fl := range sortedFlights(s.open, s.vopen) {
		if fl.returned {
			s.close(st, fl) // some followers' wakes fell past the end
			continue
		}
		if fl.waiting(end) >= s.opts.Wait {
			stalled = append(stalled, fl)
		}
	}
	for _, ag := range s.order {
		if ag.flagged > 0 {
			s.findings = append(s.findings, s.herd(st, ag))
		}
	}
	for _, fl := range stalled {
		s.findings = append(s.findings, s.stalled(st, fl, end, states))
	}
	s.stalledStock(st, end, states)
}

// endStates returns the state at the end of the trace of every goroutine
// the model or the events know: the model's where it has the goroutine,
// else what the events showed (blocked, exited, or running).
func (s *sfFanIn) endStates(t *parse.Trace) map[parse.GoID]sfState {
	out := make(map[parse.GoID]sfState, len(s.blocked))
	for id, b := range s.blocked {
		if b.state == parse.StateWaiting {
			out[id] = *b
		}
	}
	for id, gone := range s.leaders.All() {
		if *gone {
			out[id] = sfState{g: id, state: parse.StateExited}
		} else if _, ok := out[id]; !ok {
			out[id] = sfState{g: id, state: parse.StateRunning}
		}
	}
	for g := range t.All() {
		out[g.ID] = sfState{g: g.ID, state: g.State, reason: g.Reason, stack: g.Stack, since: g.Since}
	}
	return out
}

// waiting is the longest wait of a follower still waiting at end.
func (fl *sfFlight) waiting(end parse.Time) time.Duration {
	var d time.Duration
	for _, f := range fl.followers {
		if f.woke < 0 {
			d = max(d, time.Duration(end-f.at))
		}
	}
	return d
}

// sortedFlights lists the open flights in the order they began.
func sortedFlights(open map[sfFlightID]*sfFlight, vopen map[parse.GoID]*sfFlight) []*sfFlight {
	var fls []*sfFlight
	for _, fl := range open {
		fls = append(fls, fl)
	}
	for _, fl := range vopen {
		fls = append(fls, fl)
	}
	slices.SortFunc(fls, func(a, b *sfFlight) int {
		return cmp.Or(cmp.Compare(a.lead, b.lead), cmp.Compare(a.k.obj, b.k.obj), cmp.Compare(a.seq, b.seq), cmp.Compare(a.leader, b.leader))
	})
	return fls
}

// label names what a key's flights are grouped by.
func (s *sfFanIn) label(k sfKey) string {
	if k.obj == wire.NoObject {
		return fmt.Sprintf("x/sync singleflight followers at %s:%d (grouped by Do call site)", baseFile(k.site.File), k.site.Line)
	}
	return fmt.Sprintf("%s key %q", s.group(k.obj), k.key)
}

// group names a singleflight group: `singleflight.Group#1 "profiles"`
// (see parse.ObjectRef).
func (s *sfFanIn) group(obj wire.ObjectID) string {
	return parse.ObjectRef(wire.KindSingleflight, obj, s.names[obj])
}

func (s *sfFanIn) object(k sfKey) string {
	if k.obj == wire.NoObject {
		return fmt.Sprintf("x/sync singleflight called at %s:%d", baseFile(k.site.File), k.site.Line)
	}
	return fmt.Sprintf("%s key %q", s.group(k.obj), k.key)
}

// followerSite is the commonest Do line among a flight's followers, and a
// stack that shows it.
func followerSite(st stackTable, fl *sfFlight) (parse.Frame, parse.StackID) {
	counts := make(map[parse.Frame]int)
	stacks := make(map[parse.Frame]parse.StackID)
	for _, f := range fl.followers {
		loc, _ := st.Location(f.stack)
		counts[loc]++
		if _, ok := stacks[loc]; !ok {
			stacks[loc] = f.stack
		}
	}
	loc, _ := topCount(counts)
	return loc, stacks[loc]
}

// addFollowers lists a flight's followers in a finding: all their ids,
// and the longest waiting few as related sites.
func addFollowers(st stackTable, f *Finding, fl *sfFlight, end parse.Time) {
	const maxIDs, maxRelated = 100, 3
	order := make([]int, len(fl.followers))
	for i := range order {
		order[i] = i
	}
	waitOf := func(i int) time.Duration {
		fo := &fl.followers[i]
		if fo.woke < 0 && !fl.returned {
			return time.Duration(end - fo.at)
		}
		return fl.wait(fo)
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(waitOf(b), waitOf(a)) })
	var ids []parse.GoID
	for _, fo := range fl.followers {
		ids = append(ids, fo.g)
	}
	slices.Sort(ids)
	f.Goroutines = append(f.Goroutines, ids[:min(len(ids), maxIDs)]...)
	for _, i := range order[:min(len(order), maxRelated)] {
		fo := &fl.followers[i]
		f.Related = append(f.Related, Related{Role: "follower", Site: siteOf(st, fo.g, fo.stack)})
	}
}

func (s *sfFanIn) herd(st stackTable, ag *sfAgg) Finding {
	fl := ag.worst
	loc, stack := followerSite(st, fl)
	lead := time.Duration(fl.ret - fl.lead)
	f := Finding{
		Kind:       "singleflight-fanin",
		Severity:   SeverityWarning,
		Confidence: ConfidenceExact,
		Evidence:   EvidenceAnnotations,
		Location:   loc,
		Stack:      st.Frames(stack),
		Duration:   ag.worstWait,
		Total:      ag.waits.total,
		Object:     s.object(ag.k),
		Stats: map[string]int64{
			"flights":         int64(ag.flights),
			"flagged_flights": int64(ag.flagged),
			"suppressed":      int64(ag.suppressed),
			"max_fanin":       int64(ag.maxFanIn),
			"leader_max_ns":   int64(ag.maxLead),
			"wait_p50_ns":     int64(ag.waits.percentile(50)),
			"wait_p99_ns":     int64(ag.waits.percentile(99)),
			"wait_max_ns":     int64(ag.waits.max),
		},
		Hint: "many callers wait on one call: make the call faster or bound it with a context deadline, serve a stale value while one flight refreshes it (DoChan with a timeout), or split a hot key",
	}
	took := fmt.Sprintf("call took %v", roundDuration(lead))
	if fl.virtual {
		f.Confidence, f.Evidence = ConfidencePerCallSite, EvidenceRuntime
		took = fmt.Sprintf("call took at least %v", roundDuration(lead))
	}
	leader := "its leader"
	if fl.leader != parse.NoGoroutine {
		f.Goroutines = append(f.Goroutines, fl.leader)
		f.Related = append(f.Related, Related{Role: "leader", Site: siteOf(st, fl.leader, fl.leadStack)})
		if lloc, ok := st.Location(fl.leadStack); ok {
			leader = fmt.Sprintf("its leader (goroutine %d at %s:%d, %s)", fl.leader, baseFile(lloc.File), lloc.Line, took)
		} else {
			leader = fmt.Sprintf("its leader (goroutine %d, %s)", fl.leader, took)
		}
	}
	if ag.worstWait < s.opts.Wait {
		// The herd was large but cheap: singleflight did its job.
		f.Severity = SeverityInfo
	}
	addFollowers(st, &f, fl, 0)
	f.Message = fmt.Sprintf("%s: a flight had %s waiting up to %v on %s; %d of %s past the thresholds (fan-in ≥%d or wait ≥%v), %s suppressed",
		s.label(ag.k), plural(len(fl.followers), "follower"), roundDuration(ag.worstWait), leader,
		ag.flagged, plural(ag.flights, "flight"), s.opts.FanIn, s.opts.Wait, plural(ag.suppressed, "call"))
	return f
}

// stalled reports an annotated flight whose leader had not returned at the
// end while followers waited.
func (s *sfFanIn) stalled(st stackTable, fl *sfFlight, end parse.Time, states map[parse.GoID]sfState) Finding {
	floc, fstack := followerSite(st, fl)
	f := Finding{
		Kind:       "singleflight-fanin",
		Severity:   SeverityError,
		Confidence: ConfidenceExact,
		Evidence:   EvidenceAnnotations,
		Location:   floc,
		Stack:      st.Frames(fstack),
		Duration:   fl.waiting(end),
		Object:     s.object(fl.k),
		Stats:      map[string]int64{"followers_waiting": int64(len(fl.followers))},
		Hint:       sfStalledHint,
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: flight stalled: ", s.label(fl.k))
	if lg, ok := states[fl.leader]; ok && fl.leader != parse.NoGoroutine {
		f.Goroutines = append(f.Goroutines, fl.leader)
		took := roundDuration(time.Duration(end - fl.lead))
		f.Stats["leader_ns"] = int64(end - fl.lead)
		switch lg.state {
		case parse.StateWaiting:
			s.pointAtLeader(st, &f, lg)
			loc := f.Location
			fmt.Fprintf(&b, "its leader, goroutine %d, is blocked on %s at %s:%d after %v", lg.g, sfWaitWhat(st, lg), baseFile(loc.File), loc.Line, took)
		case parse.StateExited:
			f.Related = append(f.Related, Related{Role: "leader", Site: siteOf(st, lg.g, fl.leadStack)})
			fmt.Fprintf(&b, "its leader, goroutine %d, exited without returning", lg.g)
		default:
			f.Related = append(f.Related, Related{Role: "leader", Site: siteOf(st, lg.g, fl.leadStack)})
			fmt.Fprintf(&b, "its leader, goroutine %d, is still running after %v", lg.g, took)
		}
	} else {
		b.WriteString("its leader started before the trace and had not returned")
	}
	addFollowers(st, &f, fl, end)
	fmt.Fprintf(&b, ", and %s wait in Do at %s:%d for up to %v at trace end", plural(len(fl.followers), "follower"), baseFile(floc.File), floc.Line, roundDuration(f.Duration))
	f.Message = b.String()
	return f
}

const sfStalledHint = "the leader's call never returned, so every caller of the key waits with it: look at what the leader is blocked on, and bound the call (a context deadline)"

// pointAtLeader makes a stalled finding point at the line its blocked
// leader waits on.
func (s *sfFanIn) pointAtLeader(st stackTable, f *Finding, lg sfState) {
	loc, _ := st.Location(lg.stack)
	f.Location, f.Stack, f.Reason = loc, st.Frames(lg.stack), lg.reason
	f.Related = append(f.Related, Related{Role: "leader", Site: siteOf(st, lg.g, lg.stack)})
}

// sfWaitWhat names what a blocked leader waits on: the reason, or for a
// sync wait the method, read off the stack.
func sfWaitWhat(st stackTable, lg sfState) string {
	if lg.reason != parse.ReasonSync {
		return lg.reason
	}
	for i, n := 0, st.Depth(lg.stack); i < n; i++ {
		fn := st.Frame(lg.stack, i).Func
		if strings.HasPrefix(fn, "sync.(*") || strings.HasPrefix(fn, parse.PrimitivesPath) && strings.Contains(fn, "(*") {
			return shortFunc(fn)
		}
	}
	return lg.reason
}

// stalledStock reports x/sync followers blocked in Do at the end of the
// trace, with the leader that keeps them waiting where it can be told.
func (s *sfFanIn) stalledStock(st stackTable, end parse.Time, states map[parse.GoID]sfState) {
	ids := make([]parse.GoID, 0, len(states))
	for id, g := range states {
		if g.state == parse.StateWaiting {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	type group struct {
		site  parse.Frame
		stack parse.StackID
		gs    []sfState
	}
	var groups []*group
	bySite := make(map[parse.Frame]*group)
	var leaders []sfState
	for _, id := range ids {
		g := states[id]
		if g.reason == parse.ReasonSync && hasAny(st, g.stack, sfDoFuncs) && hasAny(st, g.stack, sfWaitFuncs) {
			if time.Duration(end-g.since) < s.opts.Wait {
				continue
			}
			loc, _ := st.Location(g.stack)
			gr := bySite[loc]
			if gr == nil {
				gr = &group{site: loc, stack: g.stack}
				bySite[loc] = gr
				groups = append(groups, gr)
			}
			gr.gs = append(gr.gs, g)
			continue
		}
		if hasAny(st, g.stack, sfDoCallFuncs) {
			leaders = append(leaders, g)
		}
	}
	for _, gr := range groups {
		fl := &sfFlight{k: sfKey{site: gr.site}, virtual: true, leader: parse.NoGoroutine}
		for _, g := range gr.gs {
			fl.followers = append(fl.followers, sfFollower{g: g.g, at: g.since, stack: g.stack, woke: -1})
		}
		var cands []sfState
		for _, l := range leaders {
			if doSite(st, l.stack) == gr.site {
				cands = append(cands, l)
			}
		}
		if len(cands) == 0 && len(leaders) == 1 {
			cands = leaders
		}
		f := Finding{
			Kind:       "singleflight-fanin",
			Severity:   SeverityError,
			Confidence: ConfidencePerCallSite,
			Evidence:   EvidenceRuntime,
			Location:   gr.site,
			Stack:      st.Frames(gr.stack),
			Duration:   fl.waiting(end),
			Object:     s.object(fl.k),
			Stats:      map[string]int64{"followers_waiting": int64(len(gr.gs))},
			Hint:       sfStalledHint,
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s: flight stalled: ", s.label(fl.k))
		switch len(cands) {
		case 1:
			lg := cands[0]
			f.Goroutines = append(f.Goroutines, lg.g)
			s.pointAtLeader(st, &f, lg)
			fmt.Fprintf(&b, "its leader, goroutine %d, is blocked on %s at %s:%d", lg.g, sfWaitWhat(st, lg), baseFile(f.Location.File), f.Location.Line)
		case 0:
			b.WriteString("no blocked leader was found (it may be running)")
		default:
			fmt.Fprintf(&b, "one of %d goroutines blocked inside singleflight's doCall is its leader", len(cands))
			for _, lg := range cands {
				f.Related = append(f.Related, Related{Role: "possible leader", Site: siteOf(st, lg.g, lg.stack)})
			}
		}
		addFollowers(st, &f, fl, end)
		fmt.Fprintf(&b, ", and %s wait in Do at %s:%d for up to %v at trace end", plural(len(fl.followers), "follower"), baseFile(gr.site.File), gr.site.Line, roundDuration(f.Duration))
		f.Message = b.String()
		s.findings = append(s.findings, f)
	}
}

// doSite is the user's line that called Do in a leader's stack: the first
// user frame outside (*Group).Do.
func doSite(s stackTable, id parse.StackID) parse.Frame {
	n := s.Depth(id)
	for i := 0; i < n; i++ {
		if slices.Contains(sfDoFuncs, s.Frame(id, i).Func) {
			for j := i + 1; j < n; j++ {
				if f := s.Frame(id, j); f.IsUser() {
					return f
				}
			}
		}
	}
	return parse.Frame{}
}

func (s *sfFanIn) Findings() []Finding { return s.findings }
