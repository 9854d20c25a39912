package detect

import "github.com/blockscope/blockscope/parse"

// stackTable is what the detectors read of parse.Stacks; tests substitute
// a table of synthetic stacks.
type stackTable interface {
	Depth(id parse.StackID) int
	Frame(id parse.StackID, i int) parse.Frame
	Frames(id parse.StackID) []parse.Frame
	Location(id parse.StackID) (parse.Frame, bool)
}

// siteOf builds a Site from a goroutine and one of its stacks.
func siteOf(st stackTable, g parse.GoID, stack parse.StackID) Site {
	loc, _ := st.Location(stack)
	return Site{Goroutine: g, Location: loc, Stack: st.Frames(stack)}
}
