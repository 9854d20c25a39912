package detect

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/blockscope/blockscope/internal/idmap"
	"github.com/blockscope/blockscope/parse"
)

// GoroutineGrowth reports go statements whose goroutines pile up: steadily
// more of them are created than exit, over the whole trace, the pattern of
// a goroutine leaked per request or per tick.
//
// Goroutines are grouped by creation site, the user's line holding the go
// statement (for a goroutine started by a library, such as errgroup's Go,
// the user's line that called it). A site is reported when at least
// --growth-min of its goroutines are still alive at the end of the trace
// and their live count rose in at least --growth-steady of ten equal
// windows between the site's first creation and the end of the trace,
// one of them among the last three. A pool that starts its workers once
// rises in one window, a pool grown on demand up to its cap stops rising,
// and a burst that drains ends with few alive; none is reported. Goroutines that existed
// before the trace began have no known creation site and are not counted,
// nor are the runtime's.
//
// Evidence: the runtime's creation and exit events (confidence "steady").
//
// Flags (GrowthOptions): --growth-min=N (default 10 goroutines),
// --growth-steady=FRACTION (default 0.6).
//
// Known false positives: a pool that grows on demand over the whole trace
// (a connection per new client) looks the same while it grows; so does a
// trace that covers only a service's warm-up.
//
// Wrong: a goroutine per request that nobody stops.
//
//	func handle(req Request) {
//		updates := make(chan Update)
//		go watch(req.Key, updates) // never returns once handle does
//		...
//	}
//
// Right: tie its life to the request's.
//
//	ctx, cancel := context.WithCancel(ctx)
//	defer cancel()
//	go watch(ctx, req.Key, updates) // returns when ctx is done
var GoroutineGrowth = register(&Detector{
	Name: "goroutine-growth",
	Doc:  "go statements whose goroutines are created faster than they exit, steadily over the trace",
	New:  func(cfg *Config) Analyzer { return newGrowth(cfg.Growth) },
})

// ConfidenceSteady is goroutine-growth's confidence: the live count rose
// steadily over the trace.
const ConfidenceSteady = "steady"

// GrowthOptions configure the goroutine-growth detector.
type GrowthOptions struct {
	// Min is how many goroutines of a site must be alive at the end of
	// the trace for it to be reported.
	Min int
	// Steady is the fraction of the ten windows in which the site's live
	// count must have risen (0 to 1).
	Steady float64
}

// DefaultGrowthOptions returns the documented defaults.
func DefaultGrowthOptions() GrowthOptions {
	return GrowthOptions{Min: 10, Steady: 0.6}
}

// growthWindows is the number of windows the site's life is cut into.
const growthWindows = 10

// growthSite is one creation site.
type growthSite struct {
	loc             parse.Frame
	stack           parse.StackID // the first creator's stack
	creator         parse.GoID
	first           parse.Time
	created, exited int
	live            int64
	series          levelSeries
}

type growth struct {
	opts     GrowthOptions
	st       stackTable
	sites    map[parse.Frame]*growthSite
	byStack  []*growthSite // sites by creator's stack, as found
	order    []*growthSite
	live     idmap.Map[parse.GoID, growthLive] // by goroutine, until it exits
	findings []Finding
}

// growthLive is a live goroutine of a site, and where it is blocked now
// if it is.
type growthLive struct {
	site    *growthSite
	blocked bool
	reason  string
	stack   parse.StackID
}

func newGrowth(opts GrowthOptions) *growth {
	def := DefaultGrowthOptions()
	if opts.Min <= 0 {
		opts.Min = def.Min
	}
	if opts.Steady <= 0 {
		opts.Steady = def.Steady
	}
	return &growth{
		opts:  opts,
		sites: make(map[parse.Frame]*growthSite),
	}
}

// Kinds are the events growth takes (see parse.Selective).
func (*growth) Kinds() parse.Kinds {
	return parse.KindsOf(parse.EvCreate, parse.EvBlock, parse.EvWake, parse.EvExit)
}

// Event counts creations and exits by creation site.
func (gr *growth) Event(t *parse.Trace, ev *parse.Event) {
	if gr.st == nil {
		gr.st = t.Stacks
	}
	st := gr.st
	switch ev.Kind {
	case parse.EvCreate:
		if ev.PeerStack == parse.NoStack {
			return
		}
		if g := t.Goroutine(ev.G); g != nil && g.System {
			return
		}
		s := gr.site(st, ev)
		s.created++
		s.live++
		s.series.set(ev.Time, s.live)
		gr.live.Set(ev.G, growthLive{site: s})
	case parse.EvBlock:
		if l := gr.live.Lookup(ev.G); l != nil {
			l.blocked, l.reason, l.stack = true, ev.Reason, ev.Stack
		}
	case parse.EvWake:
		if l := gr.live.Lookup(ev.G); l != nil {
			l.blocked = false
		}
	case parse.EvExit:
		l := gr.live.Lookup(ev.G)
		if l == nil {
			return
		}
		s := l.site
		gr.live.Delete(ev.G)
		s.exited++
		s.live--
		s.series.set(ev.Time, s.live)
	}
}

// site returns the site of a creation (the location of the creator's
// stack), adding it if new.
func (gr *growth) site(st stackTable, ev *parse.Event) *growthSite {
	if int(ev.PeerStack) < len(gr.byStack) {
		if s := gr.byStack[ev.PeerStack]; s != nil {
			return s
		}
	} else {
		gr.byStack = append(gr.byStack, make([]*growthSite, int(ev.PeerStack)+1-len(gr.byStack))...)
	}
	loc, _ := st.Location(ev.PeerStack)
	s := gr.sites[loc]
	if s == nil {
		s = &growthSite{loc: loc, stack: ev.PeerStack, creator: ev.Peer, first: ev.Time}
		s.series.start(ev.Time)
		gr.sites[loc] = s
		gr.order = append(gr.order, s)
	}
	gr.byStack[ev.PeerStack] = s
	return s
}

// Finalize reports the sites whose live count grew steadily.
func (gr *growth) Finalize(t *parse.Trace) {
	if gr.st == nil {
		gr.st = t.Stacks
	}
	end := parse.Time(t.End - t.Start)
	need := int(math.Ceil(gr.opts.Steady*growthWindows - 1e-9))
	for _, s := range gr.order {
		if s.live < int64(gr.opts.Min) {
			continue
		}
		grown, recent := s.grownWindows(end)
		if grown < need || !recent {
			continue
		}
		gr.findings = append(gr.findings, gr.finding(gr.st, s, end, grown))
	}
}

// growthRecent is how many of the last windows must see a rise: a count
// that stopped growing long before the end (a pool grown on demand up to
// its cap) is no leak.
const growthRecent = 3

// grownWindows counts the windows of [first creation, end] over which the
// site's live count rose, and says whether it rose in one of the last
// growthRecent windows.
func (s *growthSite) grownWindows(end parse.Time) (grown int, recent bool) {
	span := end - s.first
	if span <= 0 {
		return 0, false
	}
	prev := int64(0)
	for i := 1; i <= growthWindows; i++ {
		x := s.first + span*parse.Time(i)/growthWindows
		if i == growthWindows {
			x = end
		}
		l := s.series.at(x)
		if i == growthWindows {
			l = s.live
		}
		if l > prev {
			grown++
			recent = recent || i > growthWindows-growthRecent
		}
		prev = l
	}
	return grown, recent
}

func (gr *growth) finding(st stackTable, s *growthSite, end parse.Time, grown int) Finding {
	var live []parse.GoID
	for id, l := range gr.live.All() {
		if l.site == s {
			live = append(live, id)
		}
	}
	slices.Sort(live)
	span := time.Duration(end - s.first)
	f := Finding{
		Kind:       "goroutine-growth",
		Severity:   SeverityWarning,
		Confidence: ConfidenceSteady,
		Evidence:   EvidenceRuntime,
		Location:   s.loc,
		Stack:      st.Frames(s.stack),
		Duration:   span,
		Stats: map[string]int64{
			"created":       int64(s.created),
			"exited":        int64(s.exited),
			"live_at_end":   s.live,
			"windows_grown": int64(grown),
			"windows":       growthWindows,
		},
		Hint: "every goroutine started here must end: give it a way to stop (a context, a done channel, closing what it reads), make sure what it waits for arrives, and bound how many run at once (a worker pool, a semaphore)",
	}
	const maxIDs = 20
	f.Goroutines = live[:min(len(live), maxIDs)]
	f.Count = len(live)
	f.Related = append(f.Related, Related{Role: "creator", Site: siteOf(st, s.creator, s.stack)})
	// Where the live ones are now: the commonest blocked line.
	where, n, example := "", 0, parse.NoGoroutine
	counts := make(map[string]int)
	for _, g := range live {
		b := gr.live.At(g)
		if !b.blocked {
			continue
		}
		loc, _ := st.Location(b.stack)
		k := fmt.Sprintf("%s at %s:%d", b.reason, baseFile(loc.File), loc.Line)
		counts[k]++
		if c := counts[k]; c > n || c == n && k < where {
			where, n, example = k, c, g
		}
	}
	if n > 0 {
		f.Related = append(f.Related, Related{Role: "live", Site: siteOf(st, example, gr.live.At(example).stack)})
	}
	perSec := 0.0
	if span > 0 {
		perSec = float64(s.live) / span.Seconds()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "goroutines started at %s:%d grow steadily: %d created, %d exited, %d alive at trace end; the live count rose in %d of %d windows over %v (+%.0f/s)",
		baseFile(s.loc.File), s.loc.Line, s.created, s.exited, s.live, grown, growthWindows, roundDuration(span), perSec)
	if n > 0 {
		fmt.Fprintf(&b, "; %d of them blocked in %s", n, where)
	}
	f.Message = b.String()
	return f
}

func (gr *growth) Findings() []Finding { return gr.findings }
