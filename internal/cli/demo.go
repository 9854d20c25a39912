package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/trace"

	"github.com/spf13/cobra"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/internal/demo"
	"github.com/blockscope/blockscope/parse"
	"github.com/blockscope/blockscope/report"
)

func newDemo() *cobra.Command {
	var keep bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Trace a small built-in program that leaks a goroutine, and analyze it",
		Long: `demo runs a built-in example (internal/demo: a request handler whose backend
call times out, abandoning the goroutine that sends the result on an
unbuffered channel, plus three goroutines contending a mutex) under
runtime/trace, analyzes the trace and prints the report.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			dir, err := os.MkdirTemp("", "blockscope-demo")
			if err != nil {
				return err
			}
			if !keep {
				defer os.RemoveAll(dir)
			}
			path := filepath.Join(dir, "demo.trace")
			if err := record(path, demo.Run); err != nil {
				return fmt.Errorf("recording the demo trace: %w", err)
			}
			if keep {
				fmt.Fprintf(out, "Traced the demo program (internal/demo) to %s (kept: try blockscope hb on it).\n\n", path)
			} else {
				fmt.Fprintf(out, "Traced the demo program (internal/demo) to a temporary file (--keep keeps it).\n\n")
			}
			res, err := detect.Run(path, parse.Options{}, detect.DefaultConfig())
			if err != nil {
				return fmt.Errorf("internal error: analyzing the demo trace: %w", err)
			}
			if err := (report.TextOptions{Paths: report.WorkingPaths()}).Write(out, report.FromResult(res)); err != nil {
				return err
			}
			fmt.Fprint(out, `
To analyze your own code:
  go test -trace trace.out ./yourpkg      # or runtime/trace.Start in a program
  blockscope analyze trace.out
  blockscope analyze --fail-on leak trace.out   # as a CI leak gate (exit 1 on leaks)
  blockscope hb trace.out | dot -Tsvg > hb.svg  # the happens-before graph
`)
			return nil
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the demo trace file")
	return cmd
}

// record runs f under runtime/trace, writing the trace to path.
func record(path string, f func()) error {
	file, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := trace.Start(file); err != nil {
		file.Close()
		return err
	}
	f()
	trace.Stop()
	return file.Close()
}
