package report

import (
	"slices"
	"testing"

	"github.com/blockscope/blockscope/parse"
)

// TestTimelineLanesGoToBlocked checks who keeps a lane of their own past
// Limits.Lanes: the goroutines alive, and of those that exited, the ones
// that blocked longest; a new goroutine takes the lane of the exited one
// that blocked least.
func TestTimelineLanesGoToBlocked(t *testing.T) {
	lim := DefaultTimelineLimits()
	lim.Lanes = 3
	tl := NewTimeline(lim)
	tr := &parse.Trace{} // no records: the timeline copes with goroutines it cannot look up
	block := func(g parse.GoID, from, to parse.Time) {
		tl.wake(tr, &parse.Event{Kind: parse.EvWake, G: g, Peer: parse.NoGoroutine, Start: from, Time: to, Reason: parse.ReasonSleep})
	}
	block(1, 0, 1000) // blocks longest, then exits
	tl.exit(tr, 1)
	block(2, 0, 10)
	tl.exit(tr, 2)
	block(3, 0, 5)
	tl.exit(tr, 3)
	block(4, 100, 200) // takes 3's lane (5ns blocked)
	block(5, 100, 200) // takes 2's lane (10ns)
	var own []parse.GoID
	for id, l := range tl.lanes {
		if l.shared == nil {
			own = append(own, id)
		}
	}
	slices.Sort(own)
	if want := []parse.GoID{1, 4, 5}; !slices.Equal(own, want) {
		t.Errorf("goroutines with a lane of their own = %v; want %v", own, want)
	}
	s := tl.sites["?"]
	if s == nil || s.n != 2 {
		t.Fatalf("shared lane = %+v; want the 2 goroutines that gave up their lanes", s)
	}
	if got := len(s.iv) + len(s.pending); got == 0 {
		t.Errorf("the shared lane has none of their blocks")
	}
	if tl.own != lim.Lanes {
		t.Errorf("%d lanes of their own; want %d", tl.own, lim.Lanes)
	}
}
