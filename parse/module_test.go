package parse

import "testing"

func TestModulePath(t *testing.T) {
	for _, tc := range []struct{ pkg, want string }{
		{"github.com/panjf2000/ants/v2", "github.com/panjf2000/ants"},
		{"github.com/dgraph-io/ristretto/z", "github.com/dgraph-io/ristretto"},
		{"golang.org/x/sync/errgroup_test", "golang.org/x/sync"},
		{"go.uber.org/zap/zapcore", "go.uber.org/zap"},
		{"example.com/leaktests/sameline", "example.com/leaktests"},
		{"goker/cockroach_1055", "goker"},
		{"main", "main"},
	} {
		if got := ModulePath(tc.pkg); got != tc.want {
			t.Errorf("ModulePath(%q) = %q; want %q", tc.pkg, got, tc.want)
		}
	}
}

// TestLocationModule: with a module under test, Location skips another
// library's and an assertion library's frames for the module's own.
func TestLocationModule(t *testing.T) {
	s := newStacks()
	frames := []Frame{
		{Func: "runtime.chanrecv1", File: "runtime/chan.go", Line: 1},
		{Func: "github.com/other/pool.(*Pool).Wait", File: "pool.go", Line: 2},
		{Func: "github.com/stretchr/testify/assert.Eventually", File: "assert.go", Line: 3},
		{Func: "example.com/mod/pkg.TestX", File: "x_test.go", Line: 4},
	}
	var idx []int32
	for _, f := range frames {
		s.frames = append(s.frames, f)
		idx = append(idx, int32(len(s.frames)-1))
	}
	id := s.internFrames(idx)
	if got, _ := s.Location(id); got != frames[1] {
		t.Errorf("Location without a module = %v; want the innermost user frame %v", got, frames[1])
	}
	s.loc = nil
	s.SetModule("example.com/mod")
	if got, _ := s.Location(id); got != frames[3] {
		t.Errorf("Location in module example.com/mod = %v; want %v", got, frames[3])
	}
	if frames[2].IsUser() || !frames[2].IsTestFramework() {
		t.Errorf("%v: IsUser, IsTestFramework = %v, %v; want false, true", frames[2], frames[2].IsUser(), frames[2].IsTestFramework())
	}
}
