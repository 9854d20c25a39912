package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
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
//	  "traces": [the same, for each trace],
//	  "findings": [detect.Finding's fields + "fingerprint", "traces" ...],
//	  "baselined": 3,
//	  "suppressed": [the same as findings + "reason"],
//	  "tests": [Test ...]
//	}
//
// "trace" is there when the report is of one trace; "traces" always.
// A finding's "traces" are indexes into "traces". A Document is also an
// input: [ReadJSON] reads it back for blockscope merge.
type Document struct {
	Schema     int          `json:"schema"`
	Trace      *TraceInfo   `json:"trace,omitempty"`
	Traces     []TraceInfo  `json:"traces"`
	Findings   []Finding    `json:"findings"`
	Baselined  int          `json:"baselined,omitempty"`
	Suppressed []Suppressed `json:"suppressed,omitempty"`
	Tests      []Test       `json:"tests,omitempty"`
}

var _ = register(&Format{
	Name:  "json",
	Doc:   "one JSON document (the input of blockscope merge)",
	Write: JSON,
})

// JSON writes the report as one indented JSON document.
func JSON(w io.Writer, a *Analysis) error {
	doc := Document{
		Schema:     Schema,
		Traces:     a.Traces,
		Findings:   a.Findings,
		Baselined:  a.Baselined,
		Suppressed: a.Suppressed,
		Tests:      a.Tests,
	}
	if len(a.Traces) == 1 {
		doc.Trace = &a.Traces[0]
	}
	if doc.Findings == nil {
		doc.Findings = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // messages show "<-" and "->", not \u003c-
	return enc.Encode(doc)
}

// ReadJSON reads back a report that JSON wrote, so that reports written
// apart (one per machine of a CI matrix) can be merged. name names the
// input in errors. Fingerprints are computed again from the findings, so
// that reports of older versions merge with new ones.
func ReadJSON(r io.Reader, name string) (*Analysis, error) {
	var doc Document
	br := bufio.NewReader(r)
	switch head, _ := br.Peek(5); {
	case len(head) == 0:
		return nil, fmt.Errorf("%s: not a blockscope JSON report: empty file", name)
	case string(head) == "go 1.":
		return nil, fmt.Errorf("%s: not a blockscope JSON report: a Go execution trace (blockscope analyze reads traces)", name)
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		return nil, fmt.Errorf("%s: not a blockscope JSON report: gzip-compressed data (a compressed trace? blockscope analyze reads traces)", name)
	}
	dec := json.NewDecoder(br)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: not a blockscope JSON report: %v", name, err)
	}
	if doc.Schema != Schema {
		return nil, fmt.Errorf("%s: JSON report schema %d; want %d", name, doc.Schema, Schema)
	}
	a := &Analysis{Traces: doc.Traces, Findings: doc.Findings, Baselined: doc.Baselined, Suppressed: doc.Suppressed, Tests: doc.Tests}
	if len(a.Traces) == 0 && doc.Trace != nil {
		a.Traces = []TraceInfo{*doc.Trace}
	}
	if len(a.Traces) == 0 {
		return nil, fmt.Errorf("%s: JSON report names no trace", name)
	}
	check := func(f *Finding) error {
		f.Fingerprint = Fingerprint(f.Finding)
		if len(f.Traces) == 0 && len(a.Traces) == 1 {
			f.Traces = []int{0}
		}
		for _, i := range f.Traces {
			if i < 0 || i >= len(a.Traces) {
				return fmt.Errorf("%s: a %s finding names trace %d of %d", name, f.Kind, i, len(a.Traces))
			}
		}
		return nil
	}
	for i := range a.Findings {
		if err := check(&a.Findings[i]); err != nil {
			return nil, err
		}
	}
	for i := range a.Suppressed {
		if err := check(&a.Suppressed[i].Finding); err != nil {
			return nil, err
		}
	}
	for _, t := range a.Tests {
		if t.Trace < 0 || t.Trace >= len(a.Traces) {
			return nil, fmt.Errorf("%s: test %s names trace %d of %d", name, t.Name, t.Trace, len(a.Traces))
		}
	}
	return a, nil
}
