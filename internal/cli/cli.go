// Package cli is blockscope's command tree: flags become options, errors
// become exit codes, in one place.
package cli

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	ExitOK       = 0 // no finding of a failing kind
	ExitFindings = 1 // findings of a failing kind
	ExitUsage    = 2 // usage error, unreadable or incomplete input
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error // nil: exit silently (the command printed what it had to)
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

// usageError marks an error as the user's: exit 2.
func usageError(format string, args ...any) error {
	return &exitError{code: ExitUsage, err: fmt.Errorf(format, args...)}
}

// Main runs blockscope with args (without the program name) and returns
// the exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRoot(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	return exitCode(err, stderr)
}

// exitCode is the one place that maps errors to exit codes and prints them.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "blockscope: %v\n", ee.err)
		}
		return ee.code
	}
	// cobra's own errors (unknown flag or command, bad arguments) are usage
	// errors; so is anything else that reaches here. One line, in words.
	msg := parseDetail.ReplaceAllStringFunc(err.Error(), func(m string) string {
		switch parseDetail.FindStringSubmatch(m)[1] {
		case "Float":
			return "not a number"
		case "Bool":
			return "not true or false"
		}
		return "not a whole number"
	})
	if strings.Contains(msg, "unknown") || strings.Contains(msg, "arg") || strings.Contains(msg, "flag") {
		msg += " (see blockscope help)"
	}
	fmt.Fprintf(stderr, "blockscope: %s\n", msg)
	return ExitUsage
}

// parseDetail is strconv's wording of a flag value that does not parse,
// which pflag passes on: "strconv.ParseInt: parsing "x": invalid syntax".
var parseDetail = regexp.MustCompile(`strconv\.Parse(Int|Uint|Float|Bool)[^:]*: parsing "[^"]*": invalid syntax`)

func newRoot(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:   "blockscope",
		Short: "Explain goroutine blocking in Go execution traces",
		Long: `blockscope reads Go execution traces (go test -trace, runtime/trace,
flight-recorder snapshots) and tells you which goroutines blocked, where,
for how long, who woke them, and which never will.`,
		Example: `  go test -trace trace.out ./yourpkg
  blockscope analyze trace.out
  blockscope analyze --format json --fail-on leak trace.out   # a CI leak gate
  blockscope demo`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newAnalyze(), newDemo(), newVersion(), newHB())
	root.SetHelpCommand(newHelp())
	return root
}

// newHelp is cobra's help command, except that an unknown topic is a
// usage error (exit 2), not help about nothing (exit 0).
func newHelp() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		RunE: func(cmd *cobra.Command, args []string) error {
			target, rest, err := cmd.Root().Find(args)
			if err != nil || len(rest) > 0 || len(args) > 0 && target == cmd.Root() {
				var names []string
				for _, c := range cmd.Root().Commands() {
					if c.IsAvailableCommand() && c != cmd {
						names = append(names, c.Name())
					}
				}
				return usageError("unknown help topic %q; commands: %s", strings.Join(args, " "), strings.Join(names, ", "))
			}
			return target.Help()
		},
	}
}
