package report_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/parse"
	"github.com/blockscope/blockscope/report"
)

// analyzed returns the analysis of the checked-in trace with one extra,
// synthetic finding whose text needs escaping in HTML but not in JSON.
func analyzed(t *testing.T) *report.Analysis {
	t.Helper()
	res, err := detect.Run("testdata/hb.trace", parse.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Findings = append(res.Findings, detect.Finding{
		Kind:       "leak",
		Severity:   detect.SeverityError,
		Confidence: "no-waker-alive",
		Message:    "1 goroutine blocked on ch <- v & <-done at app.go:12",
		Goroutines: []parse.GoID{7},
		Location:   parse.Frame{Func: "example.com/app.send", File: "/src/app/app.go", Line: 12},
		Stack: []parse.Frame{
			{Func: "runtime/trace.Log", File: "runtime/trace/annotation.go", Line: 1},
			{Func: "github.com/blockscope/blockscope/internal/wire.Emit", File: "internal/wire/wire.go", Line: 1},
			{Func: "example.com/app.send", File: "/src/app/app.go", Line: 12},
		},
		Evidence: detect.EvidenceRuntime,
		Duration: 1500 * time.Millisecond,
	})
	return report.FromResult(res)
}

func TestJSON(t *testing.T) {
	res := analyzed(t)
	var b bytes.Buffer
	if err := report.JSON(&b, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "ch <- v & <-done") {
		t.Errorf("JSON escapes the message's < and &:\n%s", b.String())
	}
	var doc report.Document
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != report.Schema {
		t.Errorf("schema = %d; want %d", doc.Schema, report.Schema)
	}
	if doc.Trace == nil || len(doc.Traces) != 1 || doc.Traces[0].Path != doc.Trace.Path {
		t.Fatalf("trace = %+v, traces = %+v; want one trace in both", doc.Trace, doc.Traces)
	}
	if tr := doc.Trace; !tr.Complete || tr.Path != "testdata/hb.trace" || tr.GoVersion == "" || tr.Events == 0 || tr.Goroutines == 0 || tr.Duration <= 0 {
		t.Errorf("trace = %+v; want a complete trace of testdata/hb.trace with events, goroutines and a duration", tr)
	}
	last := doc.Findings[len(doc.Findings)-1]
	if last.Message != res.Findings[len(res.Findings)-1].Message || last.Location.Line != 12 || last.Duration != 1500*time.Millisecond {
		t.Errorf("finding round-trip = %+v", last)
	}
}

func TestJSONNoFindings(t *testing.T) {
	res := analyzed(t)
	res.Findings = nil
	var b bytes.Buffer
	if err := report.JSON(&b, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"findings": []`) {
		t.Errorf("no findings must be an empty list, not null:\n%s", b.String())
	}
}

func TestText(t *testing.T) {
	res := analyzed(t)
	var b bytes.Buffer
	if err := report.Text(&b, res); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, hidden := range []string{"runtime/trace.Log", "internal/wire.Emit"} {
		if strings.Contains(out, hidden) {
			t.Errorf("text report shows the annotation encoder's frame %s:\n%s", hidden, out)
		}
	}
	for _, want := range []string{
		res.Traces[0].GoVersion,
		"ch <- v & <-done at app.go:12",
		"/src/app/app.go:12", // clickable file:line
		"example.com/app.send",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text report lacks %q:\n%s", want, out)
		}
	}
}
