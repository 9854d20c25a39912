package cli_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/blockscope/blockscope/internal/cli"
	"github.com/blockscope/blockscope/parse"
)

// goroutinesOf returns the ids of the goroutines a fixture's test started
// whose start function contains fn.
func goroutinesOf(t *testing.T, path, test, fn string) []parse.GoID {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := parse.Parse(f, parse.Options{}, nil...)
	if err != nil {
		t.Fatal(err)
	}
	var ids []parse.GoID
	for g := range tr.All() {
		if tt, ok := tr.TestOf(g.ID); ok && tt.Name == test && strings.Contains(g.Entry, fn) {
			ids = append(ids, g.ID)
		}
	}
	if len(ids) == 0 {
		t.Fatalf("no goroutine of %s in %s", test, fn)
	}
	return ids
}

// TestExplain: analyze --explain says, for one goroutine, its test, its
// creation chain, its blocking, and why each detector did or did not
// report it.
func TestExplain(t *testing.T) {
	sameline, timeout := fixtureTrace(t, "sameline"), fixtureTrace(t, "timeout")
	for _, tc := range []struct {
		name, path, test, fn string
		want                 []string
	}{
		{"leaked", sameline, "TestForgetsClose", "worker).run", []string{
			"test: TestForgetsClose, which had returned",
			"Creation chain",
			"runs the tests",
			"still blocked",
			"leak: in finding #1 error (no-waker-alive): a leak (no-waker-alive)",
			"mutex-wait: not in any of its findings",
		}},
		{"running test", timeout, "TestSlow", "worker", []string{
			"test: TestSlow, which had not finished when the trace ended",
			"leak: not a leak: its test TestSlow had not finished when the trace ended",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := goroutinesOf(t, tc.path, tc.test, tc.fn)[0]
			var stdout, stderr bytes.Buffer
			args := []string{"analyze", "--explain", fmt.Sprint(id), tc.path}
			if code := cli.Main(args, nil, &stdout, &stderr); code != cli.ExitOK {
				t.Fatalf("blockscope %q exited %d: %s", args, code, stderr.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("blockscope %q: no %q in:\n%s", args, w, stdout.String())
				}
			}
		})
	}
	var stdout, stderr bytes.Buffer
	if code := cli.Main([]string{"analyze", "--explain", "99999", sameline}, nil, &stdout, &stderr); code != cli.ExitUsage || !strings.Contains(stderr.String(), "no goroutine 99999") {
		t.Errorf("--explain of a goroutine the trace lacks: exit %d, stderr %q; want 2 and the reason", code, stderr.String())
	}
}
