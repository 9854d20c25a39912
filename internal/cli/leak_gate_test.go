package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blockscope/blockscope/internal/cli"
	"github.com/blockscope/blockscope/internal/leaktests"
)

// fixtureTrace writes a leak fixture's trace (see internal/leaktests) to a
// file and returns its path.
func fixtureTrace(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name+".trace")
	if err := os.WriteFile(path, leaktests.Get(t, name).Trace, 0o666); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLeakGate: with --fail-on leak:error, a leaking test fails the gate
// whatever else the package's tests do, and a test binary cut mid-test
// exits as an incomplete trace does unless --allow-incomplete.
func TestLeakGate(t *testing.T) {
	for _, tc := range []struct {
		fixture string
		args    []string
		code    int
		out     string // in stdout
	}{
		{"sameline", []string{"--fail-on", "leak:error"}, cli.ExitFindings, "started by TestForgetsClose"},
		{"many", []string{"--fail-on", "leak:error"}, cli.ExitFindings, "from 30 tests"},
		{"sleeping", []string{"--fail-on", "leak"}, cli.ExitFindings, "outlived the test"},
		{"sleeping", []string{"--fail-on", "leak:error"}, cli.ExitOK, "outlived the test"},
		{"timeout", nil, cli.ExitUsage, "CUT MID-TEST (exits 2 unless --allow-incomplete): the -timeout alarm stopped the test binary; test TestSlow had not"},
		{"timeout", []string{"--allow-incomplete"}, cli.ExitOK, "CUT MID-TEST"},
		{"timeout", []string{"--allow-incomplete", "--fail-on", "leak:error"}, cli.ExitFindings, "started by TestLeaksFirst"},
	} {
		t.Run(tc.fixture+strings.Join(tc.args, ""), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append(append([]string{"analyze"}, tc.args...), fixtureTrace(t, tc.fixture))
			if code := cli.Main(args, nil, &stdout, &stderr); code != tc.code {
				t.Errorf("blockscope %q exited %d; want %d\nstderr: %s", args, code, tc.code, stderr.String())
			}
			// The text report wraps its prose.
			if !strings.Contains(strings.Join(strings.Fields(stdout.String()), " "), tc.out) {
				t.Errorf("blockscope %q: no %q in the report:\n%s", args, tc.out, stdout.String())
			}
		})
	}
}

// TestLeakGateJSON: the JSON report says the trace was cut mid-test and
// names the running test.
func TestLeakGateJSON(t *testing.T) {
	var stdout, stderr bytes.Buffer
	args := []string{"analyze", "--format", "json", fixtureTrace(t, "timeout")}
	if code := cli.Main(args, nil, &stdout, &stderr); code != cli.ExitUsage {
		t.Errorf("blockscope %q exited %d; want %d", args, code, cli.ExitUsage)
	}
	var doc struct {
		Trace struct {
			Tests struct {
				CutMidTest bool     `json:"cut_mid_test"`
				TimedOut   bool     `json:"timed_out"`
				Running    []string `json:"running"`
			} `json:"tests"`
		} `json:"trace"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
		t.Fatalf("report is no JSON: %v\n%s", err, stdout.String())
	}
	if got := doc.Trace.Tests; !got.CutMidTest || !got.TimedOut || len(got.Running) != 1 || got.Running[0] != "TestSlow" {
		t.Errorf("trace.tests = %+v; want cut mid-test by -timeout, TestSlow running", got)
	}
}

// TestJSONError: with --format json, a run that ends in an error before
// any report still writes a JSON document, with the reason.
func TestJSONError(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing.trace")
	for _, tc := range []struct {
		args []string
		want string // in error.message
	}{
		{[]string{"analyze", "--format", "json", missing}, "cannot read trace"},
		{[]string{"analyze", "--format=json", "--fail-on", "bogus", missing}, `unknown finding kind "bogus"`},
		{[]string{"analyze", "--format", "json", "--no-such-flag", missing}, "unknown flag: --no-such-flag"},
	} {
		var stdout, stderr bytes.Buffer
		if code := cli.Main(tc.args, nil, &stdout, &stderr); code != cli.ExitUsage {
			t.Errorf("blockscope %q exited %d; want %d", tc.args, code, cli.ExitUsage)
		}
		var doc struct {
			Schema int `json:"schema"`
			Error  struct {
				ExitCode int    `json:"exit_code"`
				Message  string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &doc); err != nil {
			t.Errorf("blockscope %q: standard output is no JSON document (%v):\n%s", tc.args, err, stdout.String())
			continue
		}
		if doc.Schema != 1 || doc.Error.ExitCode != cli.ExitUsage || !strings.Contains(doc.Error.Message, tc.want) {
			t.Errorf("blockscope %q: %+v; want schema 1, exit code 2, a message with %q", tc.args, doc, tc.want)
		}
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("blockscope %q: stderr %q; want the message there too", tc.args, stderr.String())
		}
	}
}
