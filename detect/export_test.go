package detect

import "github.com/blockscope/blockscope/parse"

// RunOptions is Run with the parse options as given, not forced to drop
// blocks and exited goroutines: the reference that dropping is held to.
func RunOptions(path string, opts parse.Options, cfg *Config, consumers ...parse.Consumer) (*Result, error) {
	return run(func(cs []parse.Consumer) (*parse.Trace, error) { return parse.File(path, opts, cs...) }, cfg, consumers)
}

// SetForgetting sets how many users and objects the deadlock detector,
// and wakers a leak site, track before they forget what can no longer
// matter (see dlForgetUsers, leakForgetWakers): 1 forgets as soon as they
// can, math.MaxInt never; restore sets them back.
func SetForgetting(users, objects, wakers int) (restore func()) {
	old := []int{dlForgetUsers, dlForgetObjects, leakForgetWakers}
	dlForgetUsers, dlForgetObjects, leakForgetWakers = users, objects, wakers
	return func() { dlForgetUsers, dlForgetObjects, leakForgetWakers = old[0], old[1], old[2] }
}
