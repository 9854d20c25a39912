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
	var html string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Trace a small built-in program that leaks a goroutine, and analyze it",
		Long: `demo runs a built-in example (internal/demo: a request handler whose backend
call times out, abandoning the goroutine that sends the result on an
unbuffered channel, plus three goroutines contending a mutex) under
runtime/trace, analyzes the trace and prints the report. With --html it
also writes the HTML report (findings and a timeline of blocking, one
self-contained file) to open in a browser.`,
		Example: `  blockscope demo
  blockscope demo --html              # also writes blockscope-demo.html
  blockscope demo --html=/tmp/d.html`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case len(args) == 0:
				return nil
			case len(args) == 1 && cmd.Flags().Changed("html") && html == cmd.Flags().Lookup("html").NoOptDefVal:
				// --html FILE: the flag's value is optional, so FILE is an argument.
				return usageError("demo takes no arguments: to write the HTML report to %s, say --html=%s", args[0], args[0])
			}
			return usageError("demo takes no arguments, got %q", args)
		},
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
			var gs []report.Gatherer
			if html != "" {
				gs = append(gs, report.LookupFormat("html").Gather())
			}
			res, err := detect.Run(path, parse.Options{}, detect.DefaultConfig(), consumers(gs)...)
			if err != nil {
				return fmt.Errorf("internal error: analyzing the demo trace: %w", err)
			}
			a := report.FromResult(res)
			for _, g := range gs {
				g.AddTo(a)
			}
			if err := (report.TextOptions{Paths: report.WorkingPaths()}).Write(out, a); err != nil {
				return err
			}
			fmt.Fprint(out, `
To analyze your own code:
  go test -trace trace.out ./yourpkg      # or runtime/trace.Start in a program
  blockscope analyze trace.out
  blockscope analyze --fail-on leak trace.out   # as a CI leak gate (exit 1 on leaks)
  blockscope hb trace.out | dot -Tsvg > hb.svg  # the happens-before graph
  blockscope analyze --format html trace.out > report.html  # findings and a timeline
`)
			if html != "" {
				if err := writeHTML(html, a); err != nil {
					return err
				}
				abs, _ := filepath.Abs(html)
				fmt.Fprintf(out, "\nWrote the HTML report to %s: open it in a browser.\n", abs)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the demo trace file")
	cmd.Flags().StringVar(&html, "html", "", "also write the HTML report: --html=`FILE`, or blockscope-demo.html for --html alone")
	cmd.Flags().Lookup("html").NoOptDefVal = "blockscope-demo.html"
	return cmd
}

// writeHTML writes the HTML report to path.
func writeHTML(path string, a *report.Analysis) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing the HTML report: %w", err)
	}
	if err := report.HTML(f, a); err != nil {
		f.Close()
		return fmt.Errorf("writing the HTML report to %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing the HTML report: %w", err)
	}
	return nil
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
