package cli

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// TestProgressBar: a bar on a terminal for big enough files, never for
// standard input, a pipe or --quiet; cleared before the report.
func TestProgressBar(t *testing.T) {
	defer func(min int64, term func(io.Writer) bool) { progressMin, barTerminal = min, term }(progressMin, barTerminal)
	const trace = "../../fixtures/leak-timeout/testdata/go126.trace"
	run := func(terminal bool, args ...string) (stdout, stderr string) {
		barTerminal = func(io.Writer) bool { return terminal }
		var out, errOut bytes.Buffer
		Main(append([]string{"analyze"}, args...), strings.NewReader(""), &out, &errOut)
		return out.String(), errOut.String()
	}

	progressMin = 1 // the fixture's trace counts as big
	var bar bytes.Buffer
	barTerminal = func(io.Writer) bool { return true }
	p := newProgress(&bar, []string{trace, trace}, false)
	if p == nil {
		t.Fatal("newProgress on a terminal, traces over progressMin = nil; want a bar")
	}
	half := p.bar.GetMax64() / 4
	p.of(0)(half)
	p.of(1)(half) // the two traces add up: half the total
	if got := bar.String(); !strings.Contains(got, "reading traces") || !strings.Contains(got, "% |") {
		t.Errorf("bar after half the bytes: %q; want a bar reading traces", got)
	}
	if st := p.bar.State(); st.CurrentNum != 2*half {
		t.Errorf("bar at %d of %d; want %d, the bytes of both traces", st.CurrentNum, st.Max, 2*half)
	}
	p.of(0)(half / 2) // a late report of fewer bytes changes nothing
	if p.bar.State().CurrentNum != 2*half {
		t.Errorf("bar at %d after a late report; want %d", p.bar.State().CurrentNum, 2*half)
	}
	bar.Reset()
	p.done()
	if got := bar.String(); strings.TrimSpace(got) != "" {
		t.Errorf("done wrote %q; want the bar cleared", got)
	}
	// The whole command on a terminal: the bar is cleared before the
	// report, which goes to stdout.
	if out, errOut := run(true, trace); strings.Contains(errOut, "%") || !strings.Contains(out, "leak") {
		t.Errorf("on a terminal: stdout %q, stderr %q; want the report, and no bar left over", out, errOut)
	}
	for _, tc := range []struct {
		name     string
		terminal bool
		args     []string
	}{
		{"piped", false, []string{trace}},
		{"quiet", true, []string{"--quiet", trace}},
		{"q", true, []string{"-q", trace}},
		{"stdin", true, []string{"-"}},
	} {
		if _, errOut := run(tc.terminal, tc.args...); strings.Contains(errOut, "reading trace") {
			t.Errorf("%s: stderr %q; want no bar", tc.name, errOut)
		}
	}
	progressMin = 1 << 40
	if _, errOut := run(true, trace); strings.Contains(errOut, "reading trace") {
		t.Errorf("a small trace: stderr %q; want no bar", errOut)
	}
}
