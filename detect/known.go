package detect

import (
	"slices"
	"strings"

	"github.com/blockscope/blockscope/parse"
)

// Known is a goroutine that a popular library starts for the life of the
// process, on purpose: never a leak of the test or program that happened
// to start it first. The leak detector sets such goroutines aside as
// "ignored (known)" unless LeakOptions.ReportKnown is set.
type Known struct {
	Library string // the import path of the library
	// Func is a function the goroutine starts in, or one on its creation
	// stack; a name ending in "[" or "." matches every function it
	// begins (a generic function's instances, a type's methods).
	Func   string
	Reason string // why it lives on: what the library says of it
}

// KnownGoroutines is the built-in list: goroutines of popular libraries
// that live as long as the process by design.
var KnownGoroutines = []Known{
	{"os/signal", "os/signal.loop", "signal.Notify starts one goroutine that waits for signals for the rest of the process"},
	{"github.com/hashicorp/golang-lru/v2/expirable", "github.com/hashicorp/golang-lru/v2/expirable.NewLRU[", "the expirable LRU's janitor: its done channel is never closed, by the library's own comment, so it never exits"},
	{"github.com/panjf2000/ants/v2", "github.com/panjf2000/ants/v2.Submit", "workers of ants' package-level default pool, which lives for the process; idle workers expire on the pool's timer"},
	{"github.com/panjf2000/ants/v2", "github.com/panjf2000/ants/v2.init.", "the purge and tick goroutines of ants' package-level default pool, started at package init"},
	{"github.com/panjf2000/ants/v2", "github.com/panjf2000/ants/v2.Reboot", "the purge and tick goroutines of ants' package-level default pool, started again by ants.Reboot"},
	{"github.com/patrickmn/go-cache", "github.com/patrickmn/go-cache.(*janitor).Run", "the cache's janitor stops only when the cache is garbage-collected (a finalizer), not when a test returns"},
	{"go.opencensus.io", "go.opencensus.io/stats/view.(*worker).start", "OpenCensus' view worker, started at package init for the life of the process"},
	{"k8s.io/klog/v2", "k8s.io/klog/v2.(*flushDaemon).run.", "klog's flush daemon, started at package init for the life of the process"},
	{"github.com/golang/glog", "github.com/golang/glog.(*loggingT).flushDaemon", "glog's flush daemon, started at package init for the life of the process"},
}

// Ignored is a goroutine the leak detector set aside: a known
// process-lifetime goroutine, or one --ignore-created-by names.
type Ignored struct {
	Kind       string       `json:"kind"` // the detector: "leak"
	Goroutines []parse.GoID `json:"goroutines"`
	Location   parse.Frame  `json:"location"`
	// Library and Reason are the Known entry's; for --ignore-created-by,
	// Reason names the flag and the function that matched.
	Library string `json:"library,omitempty"`
	Reason  string `json:"reason"`
	// Test is the test that started them, if one test started them all.
	Test string `json:"test,omitempty"`
}

// FuncMatches reports whether fn is name, or begins with it where name
// ends in "[" or ".".
func FuncMatches(fn, name string) bool {
	if strings.HasSuffix(name, "[") || strings.HasSuffix(name, ".") {
		return strings.HasPrefix(fn, name)
	}
	return fn == name
}

// known returns the entry of the list that g matches: a function of its
// start stack or of its creation stack, or of the creation stacks of its
// creators up to the test runner (a library's worker started by the
// library's own goroutine).
func known(t *parse.Trace, g *parse.Goroutine, list []Known) (Known, bool) {
	if len(list) == 0 {
		return Known{}, false
	}
	match := func(id parse.StackID) (Known, bool) {
		for i, n := 0, t.Stacks.Depth(id); i < n; i++ {
			fn := t.Stacks.Frame(id, i).Func
			for _, k := range list {
				if FuncMatches(fn, k.Func) {
					return k, true
				}
			}
		}
		return Known{}, false
	}
	if k, ok := match(g.StartStack); ok {
		return k, true
	}
	seen := 0
	for cur := g; cur != nil && seen < 100 && !t.IsTestRunner(cur.ID); cur = t.Goroutine(cur.Creator) {
		seen++
		if k, ok := match(cur.CreateStack); ok {
			return k, true
		}
		if cur != g && cur.Entry == "testing.tRunner" {
			break
		}
	}
	return Known{}, false
}

// createdBy returns the --ignore-created-by name that a frame of g's
// creation stack matches, or "".
func createdBy(t *parse.Trace, g *parse.Goroutine, names []string) string {
	for i, n := 0, t.Stacks.Depth(g.CreateStack); i < n && len(names) > 0; i++ {
		fn := t.Stacks.Frame(g.CreateStack, i).Func
		if j := slices.IndexFunc(names, func(name string) bool { return FuncMatches(fn, name) }); j >= 0 {
			return names[j]
		}
	}
	return ""
}
