package report_test

import (
	"bytes"
	"reflect"
	"slices"
	"testing"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/parse"
	"github.com/blockscope/blockscope/report"
)

// analyze is the Analysis of one checked-in trace, with the data the
// formats' gatherers collect in the same pass.
func analyze(t *testing.T, path string) *report.Analysis {
	t.Helper()
	var gs []report.Gatherer
	var cs []parse.Consumer
	for _, f := range report.Formats() {
		if f.Gather != nil {
			g := f.Gather()
			gs = append(gs, g)
			cs = append(cs, g)
		}
	}
	res, err := detect.Run(path, parse.Options{}, nil, cs...)
	if err != nil {
		t.Fatal(err)
	}
	a := report.FromResult(res)
	for _, g := range gs {
		g.AddTo(a)
	}
	return a
}

const (
	leakTrace     = "../fixtures/leak-timeout/testdata/go126.trace"
	deadlockTrace = "../fixtures/deadlock-abba/testdata/go126.trace"
	blockedTrace  = "../parse/testdata/blocked.trace"
)

func TestFromResultFingerprints(t *testing.T) {
	a := analyze(t, blockedTrace)
	if len(a.Findings) == 0 {
		t.Fatal("blocked.trace: no findings")
	}
	for _, f := range a.Findings {
		if f.Fingerprint != report.Fingerprint(f.Finding) || len(f.Fingerprint) != 32 {
			t.Errorf("%s at %v: fingerprint %q; want Fingerprint's 32 hex digits", f.Kind, f.Location, f.Fingerprint)
		}
		if !slices.Equal(f.Traces, []int{0}) {
			t.Errorf("%s at %v: traces %v; want [0]", f.Kind, f.Location, f.Traces)
		}
	}
	if b := analyze(t, blockedTrace); !reflect.DeepEqual(prints(a), prints(b)) {
		t.Errorf("fingerprints differ between two runs on one trace:\n%v\n%v", prints(a), prints(b))
	}
}

func prints(a *report.Analysis) []string {
	var ps []string
	for _, f := range a.Findings {
		ps = append(ps, f.Fingerprint)
	}
	return ps
}

func TestFingerprintIgnoresLinesAndIDs(t *testing.T) {
	f := detect.Finding{
		Kind: "leak", Reason: "chan send", Test: "TestA",
		Goroutines: []parse.GoID{7},
		Location:   parse.Frame{Func: "example.com/app.send", File: "app.go", Line: 12},
		Stack: []parse.Frame{
			{Func: "runtime.gopark", File: "runtime/proc.go", Line: 435},
			{Func: "runtime.chansend1", File: "runtime/chan.go", Line: 161},
			{Func: "example.com/app.send", File: "app.go", Line: 12},
		},
		Related: []detect.Related{{Role: "creator", Site: detect.Site{Goroutine: 1, Location: parse.Frame{Func: "example.com/app.Start", File: "app.go", Line: 3}}}},
	}
	moved := f
	moved.Goroutines = []parse.GoID{42}
	moved.Location.Line = 14
	moved.Stack = slices.Clone(f.Stack)
	moved.Stack[2].Line = 14
	moved.Stack[1] = parse.Frame{Func: "runtime.chansend", File: "runtime/chan.go", Line: 170} // another Go version
	moved.Related = []detect.Related{{Role: "creator", Site: detect.Site{Goroutine: 9, Location: parse.Frame{Func: "example.com/app.Start", File: "app.go", Line: 5}}}}
	if report.Fingerprint(f) != report.Fingerprint(moved) {
		t.Errorf("Fingerprint changes when the code moves two lines or goroutine ids change")
	}
	for name, change := range map[string]func(*detect.Finding){
		"kind":     func(f *detect.Finding) { f.Kind = "deadlock" },
		"test":     func(f *detect.Finding) { f.Test = "TestB" },
		"function": func(f *detect.Finding) { f.Stack[2].Func = "example.com/app.recv" },
		"creator":  func(f *detect.Finding) { f.Related[0].Location.Func = "example.com/app.Other" },
	} {
		g := f
		g.Stack = slices.Clone(f.Stack)
		g.Related = slices.Clone(f.Related)
		change(&g)
		if report.Fingerprint(f) == report.Fingerprint(g) {
			t.Errorf("Fingerprint is blind to the finding's %s", name)
		}
	}
}

func TestMerge(t *testing.T) {
	leak, deadlock := analyze(t, leakTrace), analyze(t, deadlockTrace)
	m := report.Merge(leak, deadlock, analyze(t, leakTrace))
	if len(m.Traces) != 3 || m.Traces[0].Path != leakTrace || m.Traces[1].Path != deadlockTrace {
		t.Fatalf("merged traces = %v; want leak, deadlock, leak", m.Traces)
	}
	// The leak trace's findings are seen in traces 0 and 2, once each;
	// the deadlock trace's in trace 1.
	want := map[string][]int{}
	for _, f := range leak.Findings {
		want[f.Fingerprint] = []int{0, 2}
	}
	for _, f := range deadlock.Findings {
		if _, ok := want[f.Fingerprint]; ok {
			want[f.Fingerprint] = []int{0, 1, 2}
		} else {
			want[f.Fingerprint] = []int{1}
		}
	}
	if len(m.Findings) != len(want) {
		t.Errorf("merged findings = %d; want %d (one per fingerprint)", len(m.Findings), len(want))
	}
	for _, f := range m.Findings {
		if !slices.Equal(f.Traces, want[f.Fingerprint]) {
			t.Errorf("%s at %v: traces %v; want %v", f.Kind, f.Location, f.Traces, want[f.Fingerprint])
		}
	}
	if m.Blocking != nil {
		t.Errorf("Merge merged blocking profiles; gatherers add them")
	}
}

func TestJSONRoundTrip(t *testing.T) {
	a := report.Merge(analyze(t, leakTrace), analyze(t, deadlockTrace))
	a.Blocking = nil
	var b bytes.Buffer
	if err := report.JSON(&b, a); err != nil {
		t.Fatal(err)
	}
	back, err := report.ReadJSON(&b, "report.json")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, a) {
		t.Errorf("ReadJSON(JSON(a)) != a:\n got %+v\nwant %+v", back, a)
	}
}

func TestReadJSONErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`not json`, `report.json: not a blockscope JSON report`},
		{``, `report.json: not a blockscope JSON report: empty file`},
		{"go 1.26 trace\x00\x00\x00", `report.json: not a blockscope JSON report: a Go execution trace (blockscope analyze reads traces)`},
		{"\x1f\x8b\x08\x00", `report.json: not a blockscope JSON report: gzip-compressed data (a compressed trace? blockscope analyze reads traces)`},
		{`{"schema": 2}`, `report.json: JSON report schema 2; want 1`},
		{`{"schema": 1, "findings": []}`, `report.json: JSON report names no trace`},
		{`{"schema": 1, "traces": [{"path": "a"}], "findings": [{"kind": "leak", "traces": [3]}]}`, `report.json: a leak finding names trace 3 of 1`},
	} {
		_, err := report.ReadJSON(bytes.NewBufferString(tc.in), "report.json")
		if err == nil || !bytes.HasPrefix([]byte(err.Error()), []byte(tc.want)) {
			t.Errorf("ReadJSON(%q) = %v; want %q", tc.in, err, tc.want)
		}
	}
}

func TestFormats(t *testing.T) {
	for _, name := range []string{"text", "json", "pprof"} {
		f := report.LookupFormat(name)
		if f == nil || f.Name != name || f.Doc == "" || f.Write == nil {
			t.Errorf("LookupFormat(%q) = %+v; want the registered format", name, f)
		}
	}
	if f := report.LookupFormat("xml"); f != nil {
		t.Errorf("LookupFormat(%q) = %+v; want nil", "xml", f)
	}
	if names := report.FormatNames(); !slices.IsSorted(names) {
		t.Errorf("FormatNames() = %v; want sorted", names)
	}
}
