package report

import (
	"fmt"
	"io"
	"strings"
)

var _ = register(&Format{
	Name:  "markdown",
	Doc:   "a compact summary for a pull-request comment or $GITHUB_STEP_SUMMARY: a table of findings, details collapsed",
	Write: Markdown,
})

// Markdown writes a summary for a pull-request comment or
// $GITHUB_STEP_SUMMARY: a heading with the counts and what fails the run,
// a table of the findings (a mark on those that fail it), then each
// finding's message, hint and stack in a collapsed <details> block, and
// the suppressed findings with their reasons. File paths are relative to
// the module root.
func Markdown(w io.Writer, a *Analysis) error {
	var b strings.Builder
	failing := 0
	for _, f := range a.Findings {
		if a.Gate.Failing(f.Finding) {
			failing++
		}
	}
	fmt.Fprintf(&b, "### blockscope: %s", plural(len(a.Findings), "finding"))
	if len(a.Findings) == 0 {
		b.WriteString(" ✅")
	}
	if failing > 0 {
		fmt.Fprintf(&b, ", %d failing (--fail-on %s) ❌", failing, a.Gate.FailOn)
	}
	b.WriteString("\n\n")
	traces := "trace " + mdCode(a.Traces[0].Path)
	switch {
	case len(a.Traces) == 1 && a.Traces[0].Package != "":
		// blockscope test's trace is a temporary file: the package says more.
		traces = "the tests of " + mdCode(a.Traces[0].Package)
	case len(a.Traces) > 1 && a.Traces[0].Package != "":
		traces = "the tests of " + plural(len(a.Traces), "package")
	case len(a.Traces) > 1:
		traces = plural(len(a.Traces), "trace")
	}
	fmt.Fprintf(&b, "From %s", traces)
	if extra := setAside(a); extra != "" {
		fmt.Fprintf(&b, "; %s", extra)
	}
	b.WriteString(".\n")
	for _, info := range a.Traces {
		if !info.Complete {
			fmt.Fprintf(&b, "\n> [!WARNING]\n> %s was not read whole (%s); this report covers only what was read.\n", mdCode(info.Path), mdInline(info.Error))
		}
	}
	if len(a.Findings) > 0 {
		b.WriteString("\n| | # | Kind | Severity | Location | Test | Goroutines | Message |\n")
		b.WriteString("| --- | --: | --- | --- | --- | --- | --: | --- |\n")
		for i, f := range a.Findings {
			mark := ""
			if a.Gate.Failing(f.Finding) {
				mark = "❌"
			}
			fmt.Fprintf(&b, "| %s | %d | %s | %s | %s | %s | %d | %s |\n", mark, i+1, f.Kind, f.Severity,
				mdCode(mdLocation(a, f.Location.File, f.Location.Line)), mdInline(f.Test), goroutineCount(f.Finding), mdInline(f.Message))
		}
		for i, f := range a.Findings {
			title := fmt.Sprintf("%d. %s %s at %s", i+1, f.Severity, f.Kind, mdLocation(a, f.Location.File, f.Location.Line))
			if len(a.Traces) > 1 {
				title += fmt.Sprintf(", in %d of %d traces", len(f.Traces), len(a.Traces))
			}
			fmt.Fprintf(&b, "\n<details><summary>%s</summary>\n\n%s\n", mdHTML(title), mdInline(f.Message))
			if f.Hint != "" {
				fmt.Fprintf(&b, "\n**Hint:** %s\n", mdInline(f.Hint))
			}
			fmt.Fprintf(&b, "\nEvidence: %s", f.Evidence)
			if f.Confidence != "" {
				fmt.Fprintf(&b, "; confidence: %s", f.Confidence)
			}
			b.WriteString(".\n")
			if frames := UserStack(f.Stack).Frames; len(frames) > 0 {
				b.WriteString("\n```\n")
				for _, fr := range frames {
					fmt.Fprintf(&b, "%s\n    %s\n", fr.Func, mdLocation(a, fr.File, fr.Line))
				}
				b.WriteString("```\n")
			}
			b.WriteString("\n</details>\n")
		}
	}
	if len(a.Suppressed) > 0 {
		b.WriteString("\n**Suppressed**\n\n")
		for _, s := range a.Suppressed {
			fmt.Fprintf(&b, "- %s %s at %s: %s\n", s.Severity, s.Kind, mdCode(mdLocation(a, s.Location.File, s.Location.Line)), mdInline(s.Reason))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdLocation is file:line, relative to the module root where it can be.
func mdLocation(a *Analysis, file string, line int) string {
	rel, _ := a.Paths.ModuleRelative(file)
	if rel == "" {
		return "-"
	}
	return fmt.Sprintf("%s:%d", rel, line)
}

// mdInline makes text safe in a table cell: one line, pipes and markup
// escaped.
func mdInline(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.NewReplacer(`\`, `\\`, "|", `\|`, "*", `\*`, "_", `\_`, "`", "\\`", "<", "&lt;", ">", "&gt;", "[", `\[`, "]", `\]`).Replace(s)
}

// mdCode is s as inline code (a table cell's pipes escaped).
func mdCode(s string) string {
	if s == "" {
		return ""
	}
	return "`" + strings.ReplaceAll(strings.ReplaceAll(s, "`", "'"), "|", `\|`) + "`"
}

// mdHTML escapes text inside an HTML element.
func mdHTML(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
