package report

import (
	"cmp"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/parse"
)

// TextOptions tune the text report. The zero value is the default report.
type TextOptions struct {
	// System counts every goroutine and wait reason in the summaries,
	// the runtime's, the tracer's and package testing's included.
	System bool
	// FullStacks shows every frame of every stack, not from the user's
	// code on.
	FullStacks bool
	// FailOn is the --fail-on the run was given ("" or "none": none);
	// Fails says whether a finding is of a failing kind. The verdict line
	// says what the run exits with.
	FailOn string
	Fails  func(detect.Finding) bool
	// AllowIncomplete says the run accepts a trace not read whole, or cut
	// mid-test (--allow-incomplete); without it such a run exits 2, and
	// the verdict line says so.
	AllowIncomplete bool
	// Paths shortens file paths for the reader (see [Paths]).
	Paths Paths
}

var _ = register(&Format{
	Name:  "text",
	Doc:   "for a terminal: a verdict, each finding with its stacks, a summary of each trace",
	Write: Text,
})

// Text writes the default text report (see [TextOptions.Write]).
func Text(w io.Writer, a *Analysis) error {
	return TextOptions{}.Write(w, a)
}

// Write writes the report for a terminal: a verdict line, the findings,
// each with its goroutines' stacks from the user's code on as file:line
// lines that terminals make clickable, the suppressed findings with their
// reasons, then a summary of the trace (a table of the traces when there
// are several).
func (o TextOptions) Write(w io.Writer, a *Analysis) error {
	fs := make([]detect.Finding, len(a.Findings))
	for i, f := range a.Findings {
		fs[i] = f.Finding
	}
	verdict := o.verdict(fs)
	if cut := cutShort(a); cut != "" && !o.AllowIncomplete {
		verdict = fmt.Sprintf("%s — exit 2: %s (--allow-incomplete accepts it)", strings.TrimSuffix(o.findingsLine(fs), "."), cut)
	}
	fmt.Fprintln(w, verdict)
	if aside := setAside(a); aside != "" {
		fmt.Fprintf(w, "Not reported: %s.\n", aside)
	}
	for _, info := range a.Traces {
		name := "the trace"
		if len(a.Traces) > 1 {
			name = info.Path
		}
		if !info.Complete {
			fmt.Fprintf(w, "WARNING: %s was not read whole (%s); this report covers only what was read.\n", name, info.Error)
		}
		if info.Tests != nil && info.Tests.CutMidTest {
			fmt.Fprintf(w, "%s\n", wrap("CUT MID-TEST (exits 2 unless --allow-incomplete): "+CutMidTest(*info.Tests), "", "  ", textWidth))
		}
		for _, warn := range info.Warnings {
			fmt.Fprintf(w, "warning: %s\n", warn)
		}
	}
	if len(fs) > 0 {
		fmt.Fprintln(w)
		tbl := newTable(w)
		tbl.Header("#", "Kind", "Severity", "Goroutines", "Location", "Duration")
		for i, f := range fs {
			tbl.Append(fmt.Sprint(i+1), f.Kind, string(f.Severity), fmt.Sprint(goroutineCount(f)),
				shortLocation(f.Location), round(f.Duration).String())
		}
		if err := tbl.Render(); err != nil {
			return err
		}
	}
	for i, f := range a.Findings {
		seen := ""
		if len(a.Traces) > 1 {
			seen = fmt.Sprintf(" in %d of %d traces", len(f.Traces), len(a.Traces))
		}
		o.finding(w, i+1, f.Finding, seen)
	}
	writeSuppressed(w, a.Suppressed)
	writeIgnored(w, a)
	if len(a.Traces) > 1 {
		return tracesTable(w, a.Traces)
	}
	return o.summary(w, a.Traces[0])
}

// setAside says how many findings a baseline set aside ("3 baselined, 1
// suppressed (listed below)"): "" when none.
func setAside(a *Analysis) string {
	var parts []string
	if a.Baselined > 0 {
		parts = append(parts, fmt.Sprintf("%d baselined", a.Baselined))
	}
	if n := len(a.Suppressed); n > 0 {
		parts = append(parts, fmt.Sprintf("%d suppressed (listed below)", n))
	}
	if n := ignoredGoroutines(a); n > 0 {
		parts = append(parts, fmt.Sprintf("%s ignored (known)", plural(n, "goroutine")))
	}
	return strings.Join(parts, ", ")
}

// ignoredGoroutines counts the goroutines set aside as known or by
// --ignore-created-by in every trace.
func ignoredGoroutines(a *Analysis) int {
	n := 0
	for _, info := range a.Traces {
		for _, ig := range info.Ignored {
			n += len(ig.Goroutines)
		}
	}
	return n
}

// writeIgnored lists the goroutines set aside as known process-lifetime
// goroutines or by --ignore-created-by, each with its reason.
func writeIgnored(w io.Writer, a *Analysis) {
	if ignoredGoroutines(a) == 0 {
		return
	}
	fmt.Fprintf(w, "\nIgnored (known)\n")
	for _, info := range a.Traces {
		for _, ig := range info.Ignored {
			line := fmt.Sprintf("%s %s at %s", plural(len(ig.Goroutines), "goroutine"), ig.Kind, shortLocation(ig.Location))
			if ig.Test != "" {
				line += " (started by " + ig.Test + ")"
			}
			line += ": "
			if ig.Library != "" {
				line += ig.Library + ": "
			}
			fmt.Fprintf(w, "%s\n", wrap(line+ig.Reason, "  ", "    ", textWidth))
		}
	}
}

// writeSuppressed lists the findings a suppression matched, each with its
// reason: suppressed, never silently dropped.
func writeSuppressed(w io.Writer, sup []Suppressed) {
	if len(sup) == 0 {
		return
	}
	fmt.Fprintf(w, "\nSuppressed\n")
	for _, s := range sup {
		fmt.Fprintf(w, "  %s %s at %s: %s\n", s.Severity, s.Kind, shortLocation(s.Location), s.Reason)
	}
}

// tracesTable is the summary of several traces: a row each.
func tracesTable(w io.Writer, infos []TraceInfo) error {
	fmt.Fprintf(w, "\n%s\n", plural(len(infos), "trace"))
	tbl := newTable(w)
	tbl.Header("#", "Trace", "Go", "Wall-clock", "Goroutines", "Blocked at end")
	for i, info := range infos {
		tbl.Append(fmt.Sprint(i+1), info.Path, orDash(info.GoVersion), round(info.Duration).String(),
			fmt.Sprint(info.Program.Goroutines), fmt.Sprint(info.Program.BlockedAtEnd))
	}
	return tbl.Render()
}

// cutShort says why a run over these traces exits 2 whatever its
// findings: a trace not read whole, or cut mid-test; "" when none is.
func cutShort(a *Analysis) string {
	for _, info := range a.Traces {
		switch {
		case !info.Complete:
			return "a trace was not read whole"
		case info.Tests != nil && info.Tests.CutMidTest:
			return "a test binary was cut mid-test"
		}
	}
	return ""
}

// findingsLine is the verdict line's first part: the findings by kind and
// severity, or "No findings".
func (o TextOptions) findingsLine(fs []detect.Finding) string {
	if len(fs) == 0 {
		return "No findings"
	}
	line, _ := o.groups(fs)
	return line
}

// verdict is the report's first line: the findings by kind and severity,
// and what the run exits with.
func (o TextOptions) verdict(fs []detect.Finding) string {
	if len(fs) == 0 {
		return "No findings: exit 0."
	}
	line, errorKinds := o.groups(fs)
	failing := 0
	for _, f := range fs {
		if o.Fails != nil && o.Fails(f) {
			failing++
		}
	}
	switch {
	case o.FailOn != "" && o.FailOn != "none" && failing > 0:
		return fmt.Sprintf("%s — exit 1: %s of a --fail-on %s kind", line, plural(failing, "finding"), o.FailOn)
	case o.FailOn != "" && o.FailOn != "none":
		return fmt.Sprintf("%s — exit 0: none of a --fail-on %s kind", line, o.FailOn)
	case len(errorKinds) > 0:
		return fmt.Sprintf("%s — exit 0; exit 1 with --fail-on %s", line, strings.Join(errorKinds, ","))
	}
	return fmt.Sprintf("%s — exit 0; --fail-on KINDS makes findings fail the run", line)
}

// groups counts findings by kind and severity ("2 leaks (error), 1
// mutex-wait (warning)") and lists the kinds with errors, as --fail-on
// would name them.
func (o TextOptions) groups(fs []detect.Finding) (string, []string) {
	type group struct {
		kind string
		sev  detect.Severity
		n    int
	}
	var groups []group
	for _, f := range fs {
		i := slices.IndexFunc(groups, func(g group) bool { return g.kind == f.Kind && g.sev == f.Severity })
		if i < 0 {
			groups = append(groups, group{kind: f.Kind, sev: f.Severity})
			i = len(groups) - 1
		}
		groups[i].n++
	}
	slices.SortStableFunc(groups, func(a, b group) int {
		return cmp.Or(cmp.Compare(a.sev.Rank(), b.sev.Rank()), strings.Compare(a.kind, b.kind))
	})
	var parts, errorKinds []string
	for _, g := range groups {
		parts = append(parts, fmt.Sprintf("%s (%s)", plural(g.n, g.kind), g.sev))
		if g.sev == detect.SeverityError && !slices.Contains(errorKinds, g.kind) {
			errorKinds = append(errorKinds, g.kind)
		}
	}
	if slices.Contains(errorKinds, "leak") {
		// --fail-on leak fails on deadlocks too.
		errorKinds = slices.DeleteFunc(errorKinds, func(k string) bool { return k == "deadlock" })
	}
	return strings.Join(parts, ", "), errorKinds
}

// finding writes one finding: its message, evidence and hint, then each
// goroutine's stack once.
func (o TextOptions) finding(w io.Writer, n int, f detect.Finding, seen string) {
	fmt.Fprintf(w, "\n[%d] %s %s", n, f.Severity, f.Kind)
	if f.Confidence != "" {
		fmt.Fprintf(w, " (%s)", f.Confidence)
	}
	fmt.Fprint(w, seen)
	fmt.Fprintf(w, ":\n%s\n", wrap(f.Message, "    ", "    ", textWidth))
	if f.Object != "" {
		fmt.Fprintf(w, "%s\n", wrap("object: "+f.Object, "    ", "      ", textWidth))
	}
	fmt.Fprintf(w, "%s\n", wrap(fmt.Sprintf("evidence: %s; %s", f.Evidence, goroutineLine(f)), "    ", "      ", textWidth))
	for _, c := range f.Created {
		fmt.Fprintf(w, "%s\n", wrap("created by "+creationLine(c, len(f.Created) > 1), "    ", "      ", textWidth))
	}
	if f.Hint != "" {
		fmt.Fprintf(w, "%s\n", wrap("hint: "+f.Hint, "    ", "          ", textWidth))
	}
	p := stackPrinter{o: o, w: w}
	p.stack("    ", stackOwner(f), f.Stack)
	for _, r := range f.Related {
		if r.Goroutine > 0 {
			fmt.Fprintf(w, "    %s: goroutine %d at %s", r.Role, r.Goroutine, shortLocation(r.Location))
		} else {
			fmt.Fprintf(w, "    %s at %s", r.Role, shortLocation(r.Location))
		}
		p.related("      ", r.Goroutine, r.Stack)
	}
}

// stackOwner is the goroutine whose stack a finding's own stack is: its
// only goroutine; 0 when it has several (the stack may be any of theirs,
// or a site's).
func stackOwner(f detect.Finding) parse.GoID {
	if len(f.Goroutines) != 1 {
		return 0
	}
	return f.Goroutines[0]
}

// stackPrinter prints a finding's stacks, each once: a stack printed
// before is referred to, and a goroutine's second stack shows only the
// user's line it differs at.
type stackPrinter struct {
	o       TextOptions
	w       io.Writer
	printed []printedStack
}

type printedStack struct {
	g     parse.GoID
	stack []parse.Frame
}

// stack writes a stack in full (from the user's code on).
func (p *stackPrinter) stack(indent string, g parse.GoID, stack []parse.Frame) {
	if len(stack) == 0 {
		return
	}
	p.printed = append(p.printed, printedStack{g, stack})
	writeStack(p.w, indent, stack, p.o.FullStacks, p.o.Paths)
}

// related ends a related site's header line and writes its stack, unless
// printed before.
func (p *stackPrinter) related(indent string, g parse.GoID, stack []parse.Frame) {
	for _, done := range p.printed {
		if slices.Equal(done.stack, stack) {
			if done.g == g || done.g == 0 {
				fmt.Fprintln(p.w, " (stack above)")
			} else {
				fmt.Fprintf(p.w, " (same stack as goroutine %d)\n", done.g)
			}
			return
		}
	}
	if g > 0 && !p.o.FullStacks {
		if i := slices.IndexFunc(p.printed, func(d printedStack) bool { return d.g == g }); i >= 0 {
			// The goroutine's stack is above: show where this site is.
			v := UserStack(stack)
			fmt.Fprintln(p.w, ":")
			if len(v.Frames) > 0 {
				writeFrame(p.w, indent, v.Op, v.Frames[0], p.o.Paths)
			}
			return
		}
	}
	fmt.Fprintln(p.w)
	p.stack(indent, g, stack)
}

// goroutineLine names a finding's goroutines, saying how many there are
// when the list is cut.
func goroutineLine(f detect.Finding) string {
	n := goroutineCount(f)
	switch {
	case n == 0:
		return "no goroutine"
	case n == 1 && len(f.Goroutines) == 1:
		return fmt.Sprintf("goroutine %d", f.Goroutines[0])
	}
	const max = 20
	ids := f.Goroutines[:min(len(f.Goroutines), max)]
	list := goList(ids)
	if len(ids) < n {
		return fmt.Sprintf("goroutines (%d of %d): %s, …", len(ids), n, list)
	}
	return fmt.Sprintf("goroutines (%d): %s", n, list)
}

// goroutineCount is the number of goroutines a finding involves: its
// Count where the detector sampled its list of ids, else the list's
// length.
func goroutineCount(f detect.Finding) int {
	return max(f.Count, len(f.Goroutines))
}

func goList(ids []parse.GoID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(int64(id), 10)
	}
	return strings.Join(s, ", ")
}

// summary writes the trace's summary: the program's goroutines, and the
// goroutine-time they spent blocked, by reason.
func (o TextOptions) summary(w io.Writer, info TraceInfo) error {
	fmt.Fprintf(w, "\nTrace %s\nGo %s, %s wall-clock, %d events\n", info.Path, orDash(info.GoVersion), round(info.Duration), info.Events)
	prog := info.Program
	counts := [4]int{prog.Goroutines, prog.Created, prog.Exited, prog.BlockedAtEnd}
	byReason := prog.BlockedByReason
	header := "Goroutines"
	if o.System {
		counts = [4]int{info.Goroutines, info.Created, info.Exited, info.BlockedAtEnd}
		byReason = info.BlockedByReason
		header = "Goroutines (all)"
	}
	tbl := newTable(w)
	tbl.Header(header, "Created", "Exited", "Blocked at end")
	tbl.Append(fmt.Sprint(counts[0]), fmt.Sprint(counts[1]), fmt.Sprint(counts[2]), fmt.Sprint(counts[3]))
	if err := tbl.Render(); err != nil {
		return err
	}
	if n := prog.Left; !o.System && n > 0 {
		fmt.Fprintf(w, "Left out: %s of the runtime, the tracer and testing (--system).\n", plural(n, "goroutine"))
	}
	reasons := make([]string, 0, len(byReason))
	for r, d := range byReason {
		if d > 0 && (o.System || r != parse.ReasonSystem) {
			reasons = append(reasons, r)
		}
	}
	if len(reasons) == 0 {
		return nil
	}
	slices.SortFunc(reasons, func(a, b string) int {
		return cmp.Or(cmp.Compare(byReason[b], byReason[a]), strings.Compare(a, b))
	})
	fmt.Fprintf(w, "\n%s\n", wrap(fmt.Sprintf("Blocked goroutine-time by reason (summed over goroutines, so it can exceed the trace's %s wall-clock)", round(info.Duration)), "", "", textWidth))
	tbl = newTable(w)
	tbl.Header("Reason", "Goroutine-time")
	for _, r := range reasons {
		label := r
		if r == parse.ReasonUnknown {
			label = "unknown (no reason or stack in the trace)"
		}
		tbl.Append(label, round(time.Duration(byReason[r])).String())
	}
	return tbl.Render()
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
// line of its own for a terminal to make clickable: from the user's code
// on, the primitive operation it called named once, and the frames left
// out counted; every frame but the annotation encoder's when full.
func writeStack(w io.Writer, indent string, stack []parse.Frame, full bool, paths Paths) {
	if full {
		for len(stack) > 1 && isEncoder(stack[0]) {
			stack = stack[1:]
		}
		for _, fr := range stack {
			writeFrame(w, indent, "", fr, paths)
		}
		return
	}
	v := UserStack(stack)
	for i, fr := range v.Frames {
		op := ""
		if i == 0 {
			op = v.Op
		}
		writeFrame(w, indent, op, fr, paths)
	}
	if v.Inner+v.Outer > 0 {
		fmt.Fprintf(w, "%s  (%s hidden; --stacks full)\n", indent, hiddenFrames(v))
	}
}

func hiddenFrames(v Stack) string {
	switch {
	case v.Outer == 0:
		return plural(v.Inner, "inner frame")
	case v.Inner == 0:
		return plural(v.Outer, "outer frame")
	}
	return fmt.Sprintf("%d inner and %d outer frames", v.Inner, v.Outer)
}

func writeFrame(w io.Writer, indent, op string, fr parse.Frame, paths Paths) {
	name := fr.Func
	if op != "" {
		name = op + " ← " + name
	}
	fmt.Fprintf(w, "%s  %s\n%s      %s:%d\n", indent, name, indent, paths.Short(fr.File), fr.Line)
}

// creationLine is a creation chain as the user's functions, outermost
// first, ending at the go statement's line: "serve → handle → fetch (go
// at main.go:38)"; with the goroutines it made when a finding has several
// chains.
func creationLine(c detect.Creation, several bool) string {
	names := make([]string, len(c.Chain))
	for i, f := range c.Chain {
		names[i] = shortFunc(f.Func)
	}
	last := c.Chain[len(c.Chain)-1]
	s := fmt.Sprintf("%s (go at %s)", strings.Join(names, " → "), shortLocation(last))
	if several {
		word := "goroutine"
		if len(c.Goroutines) > 1 {
			word = "goroutines"
		}
		s += fmt.Sprintf(": %s %s", word, goList(c.Goroutines))
	}
	return s
}

// shortFunc drops a function's package path, keeping its package name:
// "main.serve", "harness.Run".
func shortFunc(fn string) string {
	return fn[strings.LastIndexByte(fn, '/')+1:]
}
