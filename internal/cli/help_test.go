package cli

import (
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestFlagHelpNamesItsValue checks that every flag of every command names
// its value in words (--stacks MODE, not --stacks string) and says what it
// does in blockscope's words, not cobra's default text.
func TestFlagHelpNamesItsValue(t *testing.T) {
	root := newRoot(strings.NewReader(""), io.Discard, io.Discard)
	root.InitDefaultHelpFlag()
	root.InitDefaultVersionFlag()
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if f.Name == "help" {
				return
			}
			name, usage := pflag.UnquoteUsage(f)
			switch name {
			case "string", "int", "uint", "float", "duration", "strings", "stringArray":
				t.Errorf("%s --%s: help shows the value as %q; name it in the usage with backquotes", c.CommandPath(), f.Name, name)
			}
			if strings.HasPrefix(usage, "version for ") {
				t.Errorf("%s --%s: help is cobra's default %q", c.CommandPath(), f.Name, usage)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// TestDemoArguments checks that demo's stray argument is a usage error
// that says what was meant (--html FILE is --html=FILE), not "unknown
// command", and that the demo does not run.
func TestDemoArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"demo", "--html", "x.html"}, "blockscope: demo takes no arguments: to write the HTML report to x.html, say --html=x.html\n"},
		{[]string{"demo", "x.html"}, "blockscope: demo takes no arguments, got [\"x.html\"]\n"},
	} {
		var stdout, stderr strings.Builder
		if code := Main(tc.args, strings.NewReader(""), &stdout, &stderr); code != ExitUsage {
			t.Errorf("blockscope %s: exit %d; want %d", strings.Join(tc.args, " "), code, ExitUsage)
		}
		if stderr.String() != tc.want || stdout.String() != "" {
			t.Errorf("blockscope %s:\nstdout %q\nstderr %q\nwant stderr %q and no stdout", strings.Join(tc.args, " "), stdout.String(), stderr.String(), tc.want)
		}
	}
}

// TestNumberFlagErrorsSayWhatTheyWant checks that a command's own number
// flags say which values they take, not "want a whole number" after "not
// a whole number".
func TestNumberFlagErrorsSayWhatTheyWant(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"analyze", "--jobs", "x", "t.trace"}, `blockscope: --jobs "x": not a whole number: want 1 or more` + "\n"},
		{[]string{"test", "--jobs", "x"}, `blockscope: --jobs "x": not a whole number: want 1 or more` + "\n"},
		{[]string{"hb", "--finding", "x", "t.trace"}, `blockscope: --finding "x": not a whole number: want a finding's number, as blockscope analyze numbers them` + "\n"},
		{[]string{"analyze", "--explain", "abc", "t.trace"}, `blockscope: --explain "abc": not a whole number: want a goroutine id, as findings list them` + "\n"},
	} {
		var stdout, stderr strings.Builder
		if code := Main(tc.args, strings.NewReader(""), &stdout, &stderr); code != ExitUsage || stderr.String() != tc.want {
			t.Errorf("blockscope %s: exit %d, stderr %q; want exit %d, stderr %q", strings.Join(tc.args, " "), code, stderr.String(), ExitUsage, tc.want)
		}
	}
}
