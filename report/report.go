// Package report renders an analysis for people (text) and for tools (JSON).
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/parse"
)

// Schema is the version of the JSON document; it changes only when a
// field changes meaning or goes away (added fields keep it).
const Schema = 1

// Document is the JSON report.
//
//	{
//	  "schema": 1,
//	  "trace": {"path", "go_version", "duration_ns", "events", "goroutines",
//	            "goroutines_created", "goroutines_exited", "goroutines_blocked_at_end",
//	            "complete", "error", "warnings", "blocked_ns_by_reason"},
//	  "findings": [detect.Finding ...]
//	}
type Document struct {
	Schema   int              `json:"schema"`
	Trace    TraceInfo        `json:"trace"`
	Findings []detect.Finding `json:"findings"`
}

// TraceInfo summarizes the trace read.
type TraceInfo struct {
	Path            string           `json:"path"`
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
}

// Info summarizes a trace for the report.
func Info(t *parse.Trace) TraceInfo {
	created, exited, waiting := t.Counts()
	info := TraceInfo{
		Path:            t.Path,
		GoVersion:       t.GoVersion,
		Duration:        t.Duration(),
		Events:          t.Events,
		Goroutines:      len(t.Goroutines()),
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
	for r, d := range t.BlockedByReason {
		info.BlockedByReason[r] = int64(d)
	}
	return info
}

// JSON writes the report as one indented JSON document.
func JSON(w io.Writer, res *detect.Result) error {
	doc := Document{Schema: Schema, Trace: Info(res.Trace), Findings: res.Findings}
	if doc.Findings == nil {
		doc.Findings = []detect.Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // messages show "<-" and "->", not \u003c-
	return enc.Encode(doc)
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
