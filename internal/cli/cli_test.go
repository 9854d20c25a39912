package cli_test

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/blockscope/blockscope/internal/cli"
	"github.com/blockscope/blockscope/internal/corpus"
)

// TestMain lets the test binary stand in for the commands the scripts run:
// blockscope itself, and exitcode, which runs a command and checks its
// exit status.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"blockscope": func() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
		"exitcode":   exitcode,
		"gzipcut":    gzipcut,
	})
}

// gzipcut runs "gzipcut SRC N DST": it writes to DST the first N bytes of
// SRC gzip-compressed (all of them when N is -1), to make truncated
// compressed traces.
func gzipcut() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: gzipcut SRC N DST")
		os.Exit(1)
	}
	data, err := os.ReadFile(os.Args[1])
	n, nerr := strconv.Atoi(os.Args[2])
	if err != nil || nerr != nil {
		fmt.Fprintf(os.Stderr, "gzipcut: %v %v\n", err, nerr)
		os.Exit(1)
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(data)
	zw.Close()
	if n < 0 || n > b.Len() {
		n = b.Len()
	}
	if err := os.WriteFile(os.Args[3], b.Bytes()[:n], 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "gzipcut: %v\n", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// exitcode runs "exitcode N COMMAND ARGS...": it runs the command with this
// process's standard streams and exits 0 when the command exited N, 1 with
// a message otherwise.
func exitcode() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: exitcode N COMMAND [ARGS...]")
		os.Exit(1)
	}
	want, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "exitcode: bad status %q\n", os.Args[1])
		os.Exit(1)
	}
	cmd := exec.Command(os.Args[2], os.Args[3:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	got := 0
	if err := cmd.Run(); err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			fmt.Fprintf(os.Stderr, "exitcode: %v\n", err)
			os.Exit(1)
		}
		got = ee.ExitCode()
	}
	if got != want {
		fmt.Fprintf(os.Stderr, "exitcode: %s exited %d; want %d\n", os.Args[2], got, want)
		os.Exit(1)
	}
	os.Exit(0)
}

// TestScripts runs the scripts in testdata/script. They find parse's
// checked-in traces in $TRACES, the fixtures' in $FIXTURES, the module's
// root in $ROOT, and the shared corpus in $CORPUS; the
// condition [corpus] says whether there is one.
func TestScripts(t *testing.T) {
	traces, err := filepath.Abs(filepath.Join("..", "..", "parse", "testdata"))
	if err != nil {
		t.Fatal(err)
	}
	fixtures, err := filepath.Abs(filepath.Join("..", "..", "fixtures"))
	if err != nil {
		t.Fatal(err)
	}
	corpus, haveCorpus := corpus.Find()
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: false,
		Setup: func(env *testscript.Env) error {
			env.Setenv("TRACES", traces)
			env.Setenv("ROOT", filepath.Dir(filepath.Dir(traces)))
			env.Setenv("FIXTURES", fixtures)
			env.Setenv("CORPUS", corpus)
			// blockscope test runs go: on the build cache of this test's,
			// offline (the scripts' modules need nothing).
			for _, v := range []string{"GOCACHE", "GOROOT"} {
				out, err := exec.Command("go", "env", v).Output()
				if err != nil {
					return fmt.Errorf("go env %s: %v", v, err)
				}
				env.Setenv(v, strings.TrimSpace(string(out)))
			}
			env.Setenv("GOPATH", filepath.Join(env.WorkDir, ".gopath"))
			env.Setenv("GOPROXY", "off")
			env.Setenv("GOTOOLCHAIN", "local")
			env.Setenv("GOFLAGS", "-mod=mod")
			return nil
		},
		Condition: func(cond string) (bool, error) {
			if cond == "corpus" {
				return haveCorpus, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"truncate": cmdTruncate,
		},
	})
}

// cmdTruncate is "truncate SRC DST PERCENT": DST is the first PERCENT of
// SRC's bytes.
func cmdTruncate(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: truncate SRC DST PERCENT")
	}
	data, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	pct, err := strconv.Atoi(args[2])
	ts.Check(err)
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), data[:len(data)*pct/100], 0o666))
}
