package detect

import "github.com/blockscope/blockscope/parse"

// RunOptions is Run with the parse options as given, not forced to drop
// blocks and exited goroutines: the reference that dropping is held to.
func RunOptions(path string, opts parse.Options, cfg *Config, consumers ...parse.Consumer) (*Result, error) {
	return run(func(cs []parse.Consumer) (*parse.Trace, error) { return parse.File(path, opts, cs...) }, cfg, consumers)
}

// SetForgetting sets how many users and objects the deadlock detector
// tracks before it forgets those gone for good (see dlForgetUsers), so
// that tests forget as soon as they can; restore sets them back.
func SetForgetting(users, objects int) (restore func()) {
	oldUsers, oldObjects := dlForgetUsers, dlForgetObjects
	dlForgetUsers, dlForgetObjects = users, objects
	return func() { dlForgetUsers, dlForgetObjects = oldUsers, oldObjects }
}
