package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/parse"
)

var _ = register(&Format{
	Name:  "sarif",
	Doc:   "SARIF 2.1.0 for GitHub code scanning (github/codeql-action/upload-sarif)",
	Write: SARIF,
})

// FingerprintKey is the key of the fingerprint in SARIF's
// partialFingerprints.
const FingerprintKey = "blockscope/v1"

// SARIF writes a SARIF 2.1.0 log with go-sarif's model, as GitHub code
// scanning reads it: one run; a rule per detector, its doc as help; a
// result per finding, its level from the severity (info is "note"), its
// location the finding's file and line relative to the module root
// (uriBaseId SRCROOT; a path outside the module is left as it is, without
// a base), the related sites as related locations, the stack from the
// user's code on as a code flow (outermost call first), and its
// fingerprint in partialFingerprints under FingerprintKey. Suppressed
// findings are results with an external suppression and its reason;
// baselined findings are left out.
func SARIF(w io.Writer, a *Analysis) error {
	log := sarif.NewReport()
	run := sarif.NewRunWithInformationURI("blockscope", "https://github.com/blockscope/blockscope")
	for _, d := range detect.Detectors() {
		run.AddRule(d.Name).
			WithName(d.Name).
			WithDescription(firstSentence(d.Doc)).
			WithHelp(sarif.NewMultiformatMessageString().WithText(d.Doc))
	}
	for _, f := range a.Findings {
		run.AddResult(sarifResult(run, a, f))
	}
	for _, s := range a.Suppressed {
		r := sarifResult(run, a, s.Finding)
		r.AddSuppression(sarif.NewSuppression().WithKind("external").WithJustification(s.Reason))
		run.AddResult(r)
	}
	log.AddRun(run)
	if err := log.PrettyWrite(w); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func sarifResult(run *sarif.Run, a *Analysis, f Finding) *sarif.Result {
	r := sarif.NewRuleResult(f.Kind).
		WithRuleIndex(run.GetRuleIndex(f.Kind)).
		WithLevel(sarifLevel(f.Severity)).
		WithMessage(sarif.NewTextMessage(f.Message)).
		AddLocation(sarifLocation(a, f.Location)).
		WithPartialFingerprints(map[string]string{FingerprintKey: f.Fingerprint})
	seen := map[string]bool{}
	for _, rel := range f.Related {
		key := fmt.Sprintf("%s %s:%d", rel.Role, rel.Location.File, rel.Location.Line)
		if rel.Location.File == "" || seen[key] {
			continue
		}
		seen[key] = true
		r.AddRelatedLocation(sarifLocation(a, rel.Location).WithMessage(sarif.NewTextMessage(rel.Role)))
	}
	if frames := UserStack(f.Stack).Frames; len(frames) > 0 {
		flow := sarif.NewThreadFlow()
		for i := len(frames) - 1; i >= 0; i-- {
			loc := sarifLocation(a, frames[i]).WithMessage(sarif.NewTextMessage(frames[i].Func))
			flow.AddLocation(sarif.NewThreadFlowLocation().WithLocation(loc))
		}
		r.AddCodeFlow(sarif.NewCodeFlow().WithThreadFlows([]*sarif.ThreadFlow{flow}))
	}
	props := sarif.NewPropertyBag()
	props.Add("evidence", string(f.Evidence))
	if f.Confidence != "" {
		props.Add("confidence", f.Confidence)
	}
	if f.Test != "" {
		props.Add("test", f.Test)
	}
	if len(a.Traces) > 1 {
		props.Add("traces", len(f.Traces))
	}
	return r.WithProperties(props)
}

// sarifLocation is a frame's file and line, relative to the module root
// where it is in the module.
func sarifLocation(a *Analysis, fr parse.Frame) *sarif.Location {
	art := sarif.NewArtifactLocation()
	if rel, ok := a.Paths.ModuleRelative(fr.File); ok {
		art.WithURI(rel).WithURIBaseID("SRCROOT")
	} else {
		art.WithURI(fr.File)
	}
	phys := sarif.NewPhysicalLocation().WithArtifactLocation(art)
	if fr.Line > 0 {
		phys.WithRegion(sarif.NewRegion().WithStartLine(fr.Line))
	}
	return sarif.NewLocationWithPhysicalLocation(phys)
}

func sarifLevel(s detect.Severity) string {
	switch s {
	case detect.SeverityError:
		return "error"
	case detect.SeverityWarning:
		return "warning"
	}
	return "note"
}

// firstSentence is a doc's first sentence, for a one-line description.
func firstSentence(doc string) string {
	doc = strings.Join(strings.Fields(doc), " ")
	if i := strings.Index(doc, ". "); i >= 0 {
		return doc[:i+1]
	}
	return doc
}
