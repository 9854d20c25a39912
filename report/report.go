// Package report renders an analysis for people and for tools: one file a
// format (text, JSON, JUnit, SARIF, Markdown, GitHub annotations, pprof),
// every format a printer over one shared type, [Analysis].
package report

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/parse"
)

// TraceInfo summarizes the trace read.
type TraceInfo struct {
	Path string `json:"path"`
	// Package is the Go package whose tests a go test run traced into
	// this trace; empty for analyze.
	Package         string           `json:"package,omitempty"`
	GoVersion       string           `json:"go_version"`
	Duration        time.Duration    `json:"duration_ns"`
	Events          int              `json:"events"`
	Goroutines      int              `json:"goroutines"`
	Created         int              `json:"goroutines_created"`
	Exited          int              `json:"goroutines_exited"`
	BlockedAtEnd    int              `json:"goroutines_blocked_at_end"`
	Complete        bool             `json:"complete"`
	Error           string           `json:"error,omitempty"`
	Warnings        []string         `json:"warnings,omitempty"`
	BlockedByReason map[string]int64 `json:"blocked_ns_by_reason"`
	Annotations     int              `json:"annotations"`
	// Program counts the program's own goroutines (detect.Summary):
	// what the text summary shows unless --system.
	Program ProgramInfo `json:"program"`
	// Tests is set for a trace of a test binary that go test -trace
	// started (see parse.TestRun).
	Tests *TestsInfo `json:"tests,omitempty"`
	// Ignored are the goroutines set aside as known process-lifetime
	// goroutines or by --ignore-created-by: listed, never findings.
	Ignored []detect.Ignored `json:"ignored,omitempty"`
}

// TestsInfo says how the tests of a go test -trace trace ended.
type TestsInfo struct {
	// CutMidTest: the trace ended while tests ran (-timeout, or a binary
	// that died); their goroutines are not judged as leaks.
	CutMidTest bool     `json:"cut_mid_test"`
	TimedOut   bool     `json:"timed_out,omitempty"`
	Running    []string `json:"running,omitempty"` // tests not finished at the end
}

// ProgramInfo is detect.Summary in the JSON report: the program's own
// goroutines, leaving out the runtime's, the tracer's and package
// testing's.
type ProgramInfo struct {
	Goroutines      int              `json:"goroutines"`
	Created         int              `json:"goroutines_created"`
	Exited          int              `json:"goroutines_exited"`
	BlockedAtEnd    int              `json:"goroutines_blocked_at_end"`
	Left            int              `json:"goroutines_left_out"`
	BlockedByReason map[string]int64 `json:"blocked_ns_by_reason"`
}

// Info summarizes a trace for the report; the program's counts are left
// to [FromResult], which has them.
func Info(t *parse.Trace) TraceInfo {
	created, exited, waiting := t.Counts()
	info := TraceInfo{
		Path:            t.Path,
		GoVersion:       t.GoVersion,
		Duration:        t.Duration(),
		Events:          t.Events,
		Goroutines:      t.NumGoroutines(),
		Created:         created,
		Exited:          exited,
		BlockedAtEnd:    waiting,
		Complete:        t.Complete,
		Warnings:        t.Warnings,
		BlockedByReason: make(map[string]int64),
		Annotations:     t.Annotations,
	}
	if t.Err != nil {
		info.Error = t.Err.Error()
	}
	if run := t.TestRun(); run.Framework {
		info.Tests = &TestsInfo{CutMidTest: run.CutMidTest(), TimedOut: run.TimedOut, Running: run.Running}
	}
	for r, d := range t.BlockedByReason {
		info.BlockedByReason[r] = int64(d)
	}
	return info
}

// CutMidTest says why a test binary's trace ended mid-test and which
// tests had not finished: "the -timeout alarm stopped the test binary;
// test TestSlow had not finished when the trace ended (its goroutines are
// not judged as leaks)".
func CutMidTest(run TestsInfo) string {
	why := "the test binary died mid-test"
	if run.TimedOut {
		why = "the -timeout alarm stopped the test binary"
	}
	switch len(run.Running) {
	case 0:
		return why
	case 1:
		return fmt.Sprintf("%s; test %s had not finished when the trace ended (its goroutines are not judged as leaks)", why, run.Running[0])
	}
	return fmt.Sprintf("%s; tests %s had not finished when the trace ended (their goroutines are not judged as leaks)", why, strings.Join(run.Running, ", "))
}

func newTable(w io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(w, tablewriter.WithHeaderAutoFormat(tw.Off))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Microsecond)
	}
	return d
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
