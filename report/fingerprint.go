package report

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/parse"
)

// Fingerprint identifies a finding across reruns and unrelated edits: a
// hash of its kind, its test, its wait reason, the function names of its
// stack and the roles and functions of its related sites. No line numbers,
// goroutine ids, object ids, addresses or durations go in, and neither do
// the runtime's frames (which change between Go versions) nor the
// annotation encoder's: moving the code, or running it again, keeps the
// fingerprint; a leak at another function, in another test, or of
// another kind changes it.
//
// Two findings of one trace can share a fingerprint (two sends in one
// function); baselines and merges pair them in order (see [Merge]).
func Fingerprint(f detect.Finding) string {
	var b strings.Builder
	b.WriteString(f.Kind)
	b.WriteByte('\n')
	b.WriteString(f.Test)
	b.WriteByte('\n')
	b.WriteString(f.Reason)
	b.WriteByte('\n')
	stack := normalStack(f.Stack)
	if len(stack) == 0 {
		stack = []string{f.Location.Func}
	}
	b.WriteString(strings.Join(stack, ";"))
	var related []string
	for _, r := range f.Related {
		related = append(related, r.Role+"="+r.Location.Func)
	}
	slices.Sort(related)
	related = slices.Compact(related)
	for _, r := range related {
		b.WriteByte('\n')
		b.WriteString(r)
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:16])
}

// normalStack is the function names of a stack, innermost first, without
// the runtime's frames and the annotation encoder's.
func normalStack(stack []parse.Frame) []string {
	var names []string
	for _, fr := range stack {
		if fr.IsRuntime() || fr.Package() == "runtime/trace" || strings.HasSuffix(fr.Package(), "blockscope/internal/wire") {
			continue
		}
		names = append(names, fr.Func)
	}
	return names
}
