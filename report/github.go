package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/blockscope/blockscope/detect"
)

var _ = register(&Format{
	Name:  "github",
	Doc:   "GitHub Actions workflow commands (::error file=…,line=…::), one per finding, shown inline on the diff",
	Write: GitHub,
})

// GitHub writes one GitHub Actions workflow command per finding, which
// the runner turns into an annotation on the file and line: ::error for a
// finding that fails the run (--fail-on) or whose severity is error,
// ::warning for a warning, ::notice for info. The file is relative to the
// module root (left out when the finding is outside the module); the
// title names the kind and confidence; the message is the finding's, its
// hint on a second line.
func GitHub(w io.Writer, a *Analysis) error {
	for _, f := range a.Findings {
		level := githubLevel(f.Severity)
		if a.Gate.Failing(f.Finding) {
			level = "error"
		}
		var props []string
		if rel, ok := a.Paths.ModuleRelative(f.Location.File); ok {
			props = append(props, "file="+githubProperty(rel))
			if f.Location.Line > 0 {
				props = append(props, fmt.Sprintf("line=%d", f.Location.Line))
			}
		}
		title := "blockscope " + f.Kind
		if f.Confidence != "" {
			title += " (" + f.Confidence + ")"
		}
		props = append(props, "title="+githubProperty(title))
		msg := f.Message
		if len(a.Traces) > 1 {
			msg += fmt.Sprintf(" [in %d of %d traces]", len(f.Traces), len(a.Traces))
		}
		if f.Hint != "" {
			msg += "\nhint: " + f.Hint
		}
		if _, err := fmt.Fprintf(w, "::%s %s::%s\n", level, strings.Join(props, ","), githubData(msg)); err != nil {
			return err
		}
	}
	return nil
}

func githubLevel(s detect.Severity) string {
	switch s {
	case detect.SeverityError:
		return "error"
	case detect.SeverityWarning:
		return "warning"
	}
	return "notice"
}

// githubData escapes a workflow command's message as the runner unescapes it.
func githubData(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A").Replace(s)
}

// githubProperty escapes a workflow command's property value.
func githubProperty(s string) string {
	return strings.NewReplacer("%", "%25", "\r", "%0D", "\n", "%0A", ":", "%3A", ",", "%2C").Replace(s)
}
