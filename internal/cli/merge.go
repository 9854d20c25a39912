package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/blockscope/blockscope/report"
)

type mergeOptions struct {
	reporting
}

func newMerge() *cobra.Command {
	o := &mergeOptions{}
	cmd := &cobra.Command{
		Use:   "merge [flags] REPORT.json...",
		Short: "Merge JSON reports of traces analyzed apart, with the same outputs and gates",
		Long: `merge reads JSON reports (analyze --format json, test --format json) written
apart — one per machine of a CI matrix, one per batch of flight-recorder
snapshots — and reports them as one: the traces of all, and each finding
once, with the traces that showed it (findings are merged by fingerprint,
as analyze merges several traces). Merging the reports of a.trace and
b.trace gives what analyze a.trace b.trace gives.

--format, --output, --fail-on, --baseline and --write-baseline work as for
analyze. The pprof and html formats need the traces themselves, not reports.

Exit status: 0, or 1 when a finding is of a kind named by --fail-on, or 2
for a usage error or a report that cannot be read.`,
		Example: `  blockscope analyze --format json snapshots-1/ > r1.json     # on each machine
  blockscope merge --fail-on leak --output sarif=blockscope.sarif r*.json`,
		Args: minArgs(1, "REPORT.json"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.run(cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args)
		},
	}
	o.reporting.bind(cmd.Flags())
	o.reporting.complete(cmd)
	return cmd
}

func (o *mergeOptions) run(stdin io.Reader, stdout, stderr io.Writer, args []string) error {
	p, err := o.plan()
	if err != nil {
		return err
	}
	for _, t := range p.targets {
		if t.format.Gather != nil {
			return usageError("merge: the %s format needs the traces, which JSON reports do not hold: write it with analyze", t.format.Name)
		}
	}
	var as []*report.Analysis
	for _, path := range args {
		a, err := readReport(path, stdin)
		if err != nil {
			return &exitError{code: ExitUsage, err: err}
		}
		as = append(as, a)
	}
	a := report.Merge(as...)
	if err := p.write(a, stdout); err != nil {
		return err
	}
	return p.check(a, stderr)
}

// readReport reads a JSON report from a file, or from stdin for "-".
func readReport(path string, stdin io.Reader) (*report.Analysis, error) {
	if path == "-" {
		return report.ReadJSON(stdin, "<stdin>")
	}
	f, err := os.Open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	defer f.Close()
	return report.ReadJSON(f, path)
}
