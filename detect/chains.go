package detect

import (
	"regexp"
	"slices"
	"strings"

	"github.com/blockscope/blockscope/parse"
)

// Creation is how some of a finding's goroutines came to be: the user's
// functions on their creation chain, outermost first, through the go
// statements of their creators, down to the go statement that started
// them.
type Creation struct {
	// Chain holds the user's frames, outermost first; the last is the go
	// statement. Leading main.main and closures are left out: the chain
	// starts at the first function that does more than call the next.
	Chain []parse.Frame `json:"chain"`
	// Goroutines are the finding's goroutines created this way.
	Goroutines []parse.GoID `json:"goroutines"`
}

// maxChainHops bounds how many creators a chain goes through.
const maxChainHops = 16

// creations groups a finding's goroutines by their creation chain, one
// Creation per distinct chain, in the order of the goroutines. Goroutines
// that exited are left out: a trace read with parse.Options.DropExited
// has forgotten them, and a finding is about the live ones.
func creations(t *parse.Trace, ids []parse.GoID) []Creation {
	var out []Creation
	for _, id := range ids {
		if g := t.Goroutine(id); g == nil || g.State == parse.StateExited {
			continue
		}
		chain := creationChain(t, id)
		if len(chain) == 0 {
			continue
		}
		i := slices.IndexFunc(out, func(c Creation) bool { return slices.Equal(c.Chain, chain) })
		if i < 0 {
			out = append(out, Creation{Chain: chain})
			i = len(out) - 1
		}
		out[i].Goroutines = append(out[i].Goroutines, id)
	}
	return out
}

// creationChain is goroutine id's creation chain (see Creation): the
// user frames of its creators' stacks at their go statements, up to a
// goroutine with no known creator or the test the chain runs in.
func creationChain(t *parse.Trace, id parse.GoID) []parse.Frame {
	var chain []parse.Frame // innermost first while it is built
	g := t.Goroutine(id)
	for hop := 0; g != nil && g.Creator != parse.NoGoroutine && hop < maxChainHops; hop++ {
		for _, f := range t.Stacks.Frames(g.CreateStack) {
			if f.IsUser() {
				chain = append(chain, f)
			}
		}
		if t.IsTestRunner(g.Creator) {
			break
		}
		g = t.Goroutine(g.Creator)
	}
	slices.Reverse(chain)
	return trimWrappers(ownModule(chain))
}

// maxChain bounds the functions a creation chain shows: the ones nearest
// the go statement.
const maxChain = 6

// ownModule keeps the end of a chain (outermost first) that is in the go
// statement's module: the frames of a framework or library that called
// into the user's code (a router, a CLI library) are not the user's
// chain. At most maxChain frames are kept.
func ownModule(chain []parse.Frame) []parse.Frame {
	if len(chain) == 0 {
		return chain
	}
	mod := moduleOf(chain[len(chain)-1].Package())
	i := len(chain) - 1
	for i > 0 && moduleOf(chain[i-1].Package()) == mod && len(chain)-i < maxChain {
		i--
	}
	return chain[i:]
}

// moduleOf guesses the module of a package path: its first three elements
// for a path that starts with a domain (github.com/org/repo), else its
// first element (main, or a module path without a dot).
func moduleOf(pkg string) string {
	parts := strings.SplitN(pkg, "/", 4)
	if strings.Contains(parts[0], ".") && len(parts) >= 3 {
		return strings.Join(parts[:3], "/")
	}
	return parts[0]
}

// closureName matches a function literal's name: main.main.func1.2.
var closureName = regexp.MustCompile(`\.func\d+(\.\d+)*$`)

// trimWrappers drops the head of a creation chain up to the first
// function that does more than pass control on: main.main, function
// literals, and a function that calls a literal of one dropped before it
// (a runner of callbacks, such as a test harness). The go statement, the
// chain's last frame, always stays.
func trimWrappers(chain []parse.Frame) []parse.Frame {
	var dropped []string
	for len(chain) > 1 {
		head, next := chain[0].Func, chain[1].Func
		runsCallback := closureName.MatchString(next) && slices.ContainsFunc(dropped, func(d string) bool {
			return strings.HasPrefix(next, d+".func")
		})
		if head != "main.main" && !closureName.MatchString(head) && !runsCallback {
			break
		}
		dropped = append(dropped, head)
		chain = chain[1:]
	}
	return chain
}

// addCreations fills the findings' creation chains.
func addCreations(t *parse.Trace, fs []Finding) {
	for i := range fs {
		fs[i].Created = creations(t, fs[i].Goroutines)
	}
}
