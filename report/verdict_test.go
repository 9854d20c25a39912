package report_test

import (
	"strings"
	"testing"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/report"
)

// TestVerdictSuggestsLeakForDeadlocks checks the --fail-on the verdict
// line suggests: leak includes deadlock, so a run with leaks and deadlocks
// is told --fail-on leak, not --fail-on deadlock,leak.
func TestVerdictSuggestsLeakForDeadlocks(t *testing.T) {
	for _, tc := range []struct {
		kinds []string
		want  string
	}{
		{[]string{"deadlock", "leak"}, "exit 0; exit 1 with --fail-on leak\n"},
		{[]string{"deadlock"}, "exit 0; exit 1 with --fail-on deadlock\n"},
		{[]string{"deadlock", "leak", "lock-order"}, "exit 0; exit 1 with --fail-on leak,lock-order\n"},
	} {
		a := &report.Analysis{Traces: []report.TraceInfo{{Path: "t.trace", Complete: true}}}
		for _, k := range tc.kinds {
			a.Findings = append(a.Findings, report.Finding{Finding: detect.Finding{Kind: k, Severity: detect.SeverityError, Message: k}, Traces: []int{0}})
		}
		var b strings.Builder
		if err := (report.TextOptions{}).Write(&b, a); err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(b.String(), "\n")
		if !strings.HasSuffix(first+"\n", tc.want) {
			t.Errorf("kinds %v: verdict line %q; want it to end %q", tc.kinds, first, strings.TrimSpace(tc.want))
		}
	}
}
