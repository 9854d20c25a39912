// Package report renders an analysis for people (text) and for tools (JSON).
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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

// Text writes the report for a terminal: a summary of the trace, then each
// finding with its stacks as file:line lines that terminals make clickable.
func Text(w io.Writer, res *detect.Result) error {
	t := res.Trace
	info := Info(t)
	fmt.Fprintf(w, "Trace %s\n", info.Path)
	tbl := newTable(w)
	tbl.Header("Go", "Duration", "Events", "Goroutines", "Created", "Exited", "Blocked at end")
	tbl.Append(orDash(info.GoVersion), round(info.Duration).String(), fmt.Sprint(info.Events),
		fmt.Sprint(info.Goroutines), fmt.Sprint(info.Created), fmt.Sprint(info.Exited), fmt.Sprint(info.BlockedAtEnd))
	if err := tbl.Render(); err != nil {
		return err
	}
	if len(t.BlockedByReason) > 0 {
		fmt.Fprintln(w, "\nBlocked time by reason")
		reasons := make([]string, 0, len(t.BlockedByReason))
		for r := range t.BlockedByReason {
			reasons = append(reasons, r)
		}
		slices.SortFunc(reasons, func(a, b string) int {
			if da, db := t.BlockedByReason[a], t.BlockedByReason[b]; da != db {
				return int(db - da)
			}
			return strings.Compare(a, b)
		})
		tbl := newTable(w)
		tbl.Header("Reason", "Blocked")
		for _, r := range reasons {
			tbl.Append(r, round(t.BlockedByReason[r]).String())
		}
		if err := tbl.Render(); err != nil {
			return err
		}
	}
	if !t.Complete {
		fmt.Fprintf(w, "\nWARNING: the trace was not read whole (%v); this report covers only what was read.\n", t.Err)
	}
	for _, warn := range t.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	if len(res.Findings) == 0 {
		fmt.Fprintln(w, "\nNo findings.")
		return nil
	}
	fmt.Fprintf(w, "\n%s\n", plural(len(res.Findings), "finding"))
	tbl = newTable(w)
	tbl.Header("#", "Kind", "Severity", "Goroutines", "Location", "Duration")
	for i, f := range res.Findings {
		tbl.Append(fmt.Sprint(i+1), f.Kind, string(f.Severity), fmt.Sprint(len(f.Goroutines)),
			shortLocation(f.Location), round(f.Duration).String())
	}
	if err := tbl.Render(); err != nil {
		return err
	}
	for i, f := range res.Findings {
		fmt.Fprintf(w, "\n[%d] %s %s", i+1, f.Severity, f.Kind)
		if f.Confidence != "" {
			fmt.Fprintf(w, " (%s)", f.Confidence)
		}
		fmt.Fprintf(w, ":\n%s\n", wrap(f.Message, "    ", "    ", textWidth))
		fmt.Fprintf(w, "%s\n", wrap(fmt.Sprintf("evidence: %s; goroutines: %s", f.Evidence, goList(f.Goroutines, 20)), "    ", "      ", textWidth))
		if f.Hint != "" {
			fmt.Fprintf(w, "%s\n", wrap("hint: "+f.Hint, "    ", "          ", textWidth))
		}
		writeStack(w, "    ", f.Stack)
		for _, r := range f.Related {
			if r.Goroutine > 0 {
				fmt.Fprintf(w, "    %s: goroutine %d at %s\n", r.Role, r.Goroutine, shortLocation(r.Location))
			} else {
				fmt.Fprintf(w, "    %s at %s\n", r.Role, shortLocation(r.Location))
			}
			writeStack(w, "      ", r.Stack)
		}
	}
	return nil
}

// textWidth is the width prose is wrapped to: a terminal's 80 columns.
const textWidth = 80

// wrap breaks s into lines of at most width columns (longer words stay
// whole), the first starting with indent, the others with hang.
func wrap(s, indent, hang string, width int) string {
	var b strings.Builder
	col := 0
	for _, word := range strings.Fields(s) {
		n := utf8.RuneCountInString(word)
		switch {
		case col == 0:
			b.WriteString(indent)
			col = utf8.RuneCountInString(indent)
		case col+1+n > width:
			b.WriteString("\n")
			b.WriteString(hang)
			col = utf8.RuneCountInString(hang)
		default:
			b.WriteByte(' ')
			col++
		}
		b.WriteString(word)
		col += n
	}
	return b.String()
}

// shortLocation is a location for the findings table: the file's base
// name and line (the stacks below give the whole path).
func shortLocation(f parse.Frame) string {
	if f.File == "" {
		return orDash(f.Func)
	}
	return path.Base(f.File) + ":" + strconv.Itoa(f.Line)
}

// writeStack writes a stack as a goroutine dump does, each file:line on a
// line of its own for a terminal to make clickable. The innermost frames
// of blockscope's annotation encoder (under every primitive's stack) are
// left out.
func writeStack(w io.Writer, indent string, stack []parse.Frame) {
	for len(stack) > 1 && (stack[0].Package() == "runtime/trace" || strings.HasSuffix(stack[0].Package(), "blockscope/internal/wire")) {
		stack = stack[1:]
	}
	for _, fr := range stack {
		fmt.Fprintf(w, "%s  %s\n%s      %s:%d\n", indent, fr.Func, indent, fr.File, fr.Line)
	}
}

func goList(ids []parse.GoID, max int) string {
	var b strings.Builder
	for i, id := range ids {
		if i == max {
			fmt.Fprintf(&b, " … (%d more)", len(ids)-max)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, id)
	}
	return b.String()
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
