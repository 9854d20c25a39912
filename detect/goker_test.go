package detect_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/internal/corpus"
	"github.com/blockscope/blockscope/parse"
)

// gokerTruth is a GoKer kernel's ground truth (see the corpus's
// goker/README.md).
type gokerTruth struct {
	Kernel      string         `json:"kernel"`
	Subcategory string         `json:"subcategory"`
	Manifested  bool           `json:"manifested"`
	Blocked     []gokerBlocked `json:"blocked_goroutines"`
	Notes       string         `json:"notes"`
}

// gokerBlocked is a goroutine the ground truth has blocked at the end.
type gokerBlocked struct {
	Goroutine  parse.GoID `json:"goroutine"`
	Function   string     `json:"function"`
	WaitReason string     `json:"wait_reason"`
	Location   string     `json:"location"`
}

func readTruth(t *testing.T, tracePath string) gokerTruth {
	t.Helper()
	data, err := os.ReadFile(strings.TrimSuffix(tracePath, ".trace") + ".json")
	if err != nil {
		t.Fatal(err)
	}
	var gt gokerTruth
	if err := json.Unmarshal(data, &gt); err != nil {
		t.Fatalf("%s.json: %v", gt.Kernel, err)
	}
	return gt
}

// traceReason is the trace's coarser wait reason for a reason as goroutine
// dumps write it.
func traceReason(dump string) string {
	switch {
	case dump == "sync.Cond.Wait":
		return parse.ReasonCond
	case strings.HasPrefix(dump, "sync."):
		return parse.ReasonSync
	}
	return dump
}

// inKernel reports whether a finding is located in the kernel's own code.
func inKernel(kernel string, f detect.Finding) bool {
	return strings.HasPrefix(f.Location.File, "goker/"+kernel+"/") && !strings.HasSuffix(f.Location.File, "/zz_harness_test.go")
}

// TestGoker checks the leak detector against the ground truth of GoKer
// blocking-bug kernels: every goroutine the truth lists is in a leak
// finding at its line with its reason, and no finding in kernel code
// names another goroutine. Each kernel logs its recall, its precision and
// the confidences of its findings.
func TestGoker(t *testing.T) {
	traces := corpus.Files(t, "goker", "*.trace")
	var found, truth, extra, certain int
	for _, path := range traces {
		gt := readTruth(t, path)
		t.Run(gt.Kernel, func(t *testing.T) {
			if !gt.Manifested || len(gt.Blocked) == 0 {
				t.Fatalf("%s: ground truth lists no blocked goroutine", gt.Kernel)
			}
			tr, fs := gokerFindings(t, path)
			byG := make(map[parse.GoID]*detect.Finding)
			for i := range fs {
				for _, id := range fs[i].Goroutines {
					byG[id] = &fs[i]
				}
			}
			hits, errs := 0, 0
			for _, b := range gt.Blocked {
				f := byG[b.Goroutine]
				if f == nil {
					g := tr.Goroutine(b.Goroutine)
					t.Errorf("goroutine %d (%s at %s, %s) is in no leak finding; the trace has it as %+v", b.Goroutine, b.Function, b.Location, b.WaitReason, g)
					continue
				}
				hits++
				if f.Confidence == detect.ConfidenceNoWaker {
					errs++
				}
				if loc := fmt.Sprintf("%s:%d", f.Location.File, f.Location.Line); loc != b.Location {
					t.Errorf("goroutine %d: finding at %s; want %s", b.Goroutine, loc, b.Location)
				}
				if want := traceReason(b.WaitReason); f.Reason != want {
					t.Errorf("goroutine %d: finding reason %q; want %q (%s)", b.Goroutine, f.Reason, want, b.WaitReason)
				}
				if !strings.HasPrefix(f.Test, "Test") {
					t.Errorf("goroutine %d: finding names test %q; want the kernel's Test function", b.Goroutine, f.Test)
				}
				// Kernels whose notes call a goroutine timer-driven leak
				// without deadlocking: a timer may still wake it.
				if f.Confidence != detect.ConfidenceNoWaker && !strings.Contains(gt.Notes, "time") {
					t.Errorf("goroutine %d (%s, %s): confidence %q; want %q", b.Goroutine, gt.Subcategory, b.WaitReason, f.Confidence, detect.ConfidenceNoWaker)
				}
			}
			var fp []string
			for _, f := range fs {
				if !inKernel(gt.Kernel, f) {
					continue
				}
				for _, id := range f.Goroutines {
					if !slices.ContainsFunc(gt.Blocked, func(b gokerBlocked) bool { return b.Goroutine == id }) {
						fp = append(fp, fmt.Sprintf("goroutine %d at %s:%d", id, f.Location.File, f.Location.Line))
					}
				}
			}
			if len(fp) > 0 {
				t.Errorf("leak findings in kernel code beyond the ground truth: %v", fp)
			}
			t.Logf("%-18s %-28s recall %d/%d, %d beyond the truth, %d no-waker-alive", gt.Kernel, gt.Subcategory, hits, len(gt.Blocked), len(fp), errs)
			found += hits
			truth += len(gt.Blocked)
			extra += len(fp)
			certain += errs
		})
	}
	t.Logf("all kernels: recall %d/%d, %d beyond the truth, %d of those found no-waker-alive", found, truth, extra, certain)
}

// TestGokerNegatives checks that clean runs of the kernels give no leak
// finding in kernel code.
func TestGokerNegatives(t *testing.T) {
	for _, path := range corpus.Files(t, filepath.Join("goker", "negatives"), "*.trace") {
		gt := readTruth(t, path)
		t.Run(gt.Kernel, func(t *testing.T) {
			if gt.Manifested || len(gt.Blocked) != 0 {
				t.Fatalf("%s: a negative's ground truth lists blocked goroutines", gt.Kernel)
			}
			_, fs := gokerFindings(t, path)
			for _, f := range fs {
				if inKernel(gt.Kernel, f) {
					t.Errorf("clean run: %s", f.Message)
				}
			}
		})
	}
}

// gokerFindings runs the leak detector over a GoKer trace.
func gokerFindings(t *testing.T, path string) (*parse.Trace, []detect.Finding) {
	t.Helper()
	a := detect.Leak.New(detect.DefaultConfig())
	tr, err := parse.File(path, parse.Options{DropBlocks: true}, a)
	if err != nil {
		t.Fatalf("File(%q): %v", path, err)
	}
	fs := a.Findings()
	for _, f := range fs {
		checkLeakFinding(t, tr, f)
	}
	return tr, fs
}
