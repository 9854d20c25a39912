// Package cli is blockscope's command tree: flags become options, errors
// become exit codes, in one place.
package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/report"
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
	out := &countWriter{w: stdout}
	var said bytes.Buffer // what went to stderr, for a JSON error
	errw := io.MultiWriter(stderr, &said)
	root := newRoot(stdin, out, errw)
	root.SetArgs(args)
	err := root.Execute()
	code := exitCode(err, errw)
	if code == ExitUsage && out.n == 0 && wantsJSON(args) {
		writeJSONError(stdout, code, said.String())
	}
	return code
}

// countWriter counts what goes through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// wantsJSON reports whether the arguments ask for --format json (before
// a "--", after which they are go test's).
func wantsJSON(args []string) bool {
	for i, a := range args {
		switch {
		case a == "--":
			return false
		case a == "--format=json", a == "--format" && i+1 < len(args) && args[i+1] == "json":
			return true
		}
	}
	return false
}

// writeJSONError writes the JSON document of a run that ended in an error
// before any report: {"schema": 1, "error": {"exit_code": 2, "message":
// "...", "messages": [...]}}, so that CI that parses standard output gets
// the reason. The messages are what went to standard error.
func writeJSONError(w io.Writer, code int, said string) {
	type errorInfo struct {
		ExitCode int      `json:"exit_code"`
		Message  string   `json:"message"`
		Messages []string `json:"messages,omitempty"`
	}
	var msgs []string
	for line := range strings.SplitSeq(strings.TrimSpace(said), "\n") {
		if line = strings.TrimPrefix(strings.TrimSpace(line), "blockscope: "); line != "" {
			msgs = append(msgs, line)
		}
	}
	info := errorInfo{ExitCode: code, Message: "usage error", Messages: msgs}
	if len(msgs) > 0 {
		info.Message = msgs[0]
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	enc.Encode(struct {
		Schema int       `json:"schema"`
		Error  errorInfo `json:"error"`
	}{report.Schema, info})
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
	msg := err.Error()
	if m := badFlagValue.FindStringSubmatch(msg); m != nil {
		msg = flagValueError(m[2], m[1], m[3])
	} else if strings.Contains(msg, "unknown") || strings.Contains(msg, "arg") || strings.Contains(msg, "flag") {
		msg += " (see blockscope help)"
	}
	fmt.Fprintf(stderr, "blockscope: %s\n", msg)
	return ExitUsage
}

// badFlagValue is pflag's wording of a flag value that does not parse:
// invalid argument "x" for "--sema-depth" flag: strconv.ParseInt: parsing
// "x": invalid syntax.
var badFlagValue = regexp.MustCompile(`^invalid argument ("(?:[^"\\]|\\.)*") for "(?:-\w, )?(--[\w-]+)" flag: (.*)$`)

// strconvDetail is strconv's part of such a message.
var strconvDetail = regexp.MustCompile(`^strconv\.Parse(Int|Uint|Float|Bool)[^:]*: parsing "(?:[^"\\]|\\.)*": (invalid syntax|value out of range)$`)

// flagValueError says, in words, what is wrong with a flag's value and
// which values the flag accepts.
func flagValueError(flag, value, detail string) string {
	problem := detail
	kind := ""
	if m := strconvDetail.FindStringSubmatch(detail); m != nil {
		kind = m[1]
		switch {
		case m[2] == "value out of range":
			problem = "out of range"
		case kind == "Float":
			problem = "not a number"
		case kind == "Bool":
			problem = "not true or false"
		default:
			problem = "not a whole number"
		}
	} else if strings.HasPrefix(detail, "time: ") {
		problem = "not a duration (say 500us, 10ms or 1.5s)"
	}
	want := flagWants[flag]
	if want == "" {
		want = detect.DefaultConfig().Want(flag)
	}
	switch {
	case want == "" && (kind == "Int" || kind == "Uint"):
		want = "a whole number"
	case want == "":
		return fmt.Sprintf("%s %s: %s (see blockscope help)", flag, value, problem)
	}
	if problem == "out of range" && (kind == "Int" || kind == "Uint") {
		want += ", at most " + strconv.FormatInt(math.MaxInt64, 10)
	}
	return fmt.Sprintf("%s %s: %s: want %s", flag, value, problem, want)
}

// flagWants says which values the commands' own number flags accept
// (the detectors' say it in detect.Config.Want).
var flagWants = map[string]string{
	"--max-nodes": "0 (no limit) or more nodes",
	"--jobs":      "1 or more",
	"--finding":   "a finding's number, as blockscope analyze numbers them",
	"--explain":   "a goroutine id, as findings list them",
	"--goroutine": "goroutine ids (whole numbers)",
	"--object":    "an object id as reports write it (Mutex#2, or 2)",
	"--from":      "a time after the trace's start, such as 10ms",
	"--to":        "a time after the trace's start, such as 20ms",
}

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
	root.Version = versionLine()
	root.SetVersionTemplate("blockscope {{.Version}}\n")
	root.InitDefaultVersionFlag()
	root.Flags().Lookup("version").Usage = "print blockscope's version, as blockscope version does"
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newAnalyze(), newDemo(), newVersion(), newHB(), newTest(), newMerge())
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
