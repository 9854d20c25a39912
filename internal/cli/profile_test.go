package cli_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blockscope/blockscope/internal/cli"
)

// TestProfileFlags checks that analyze and hb write CPU and heap profiles
// (pprof's gzip-compressed protocol buffers) and name a profile they
// cannot write.
func TestProfileFlags(t *testing.T) {
	trace := filepath.Join("..", "..", "parse", "testdata", "blocked.trace")
	for _, cmd := range []string{"analyze", "hb"} {
		t.Run(cmd, func(t *testing.T) {
			dir := t.TempDir()
			cpu, mem := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "mem.prof")
			var stdout, stderr bytes.Buffer
			args := []string{cmd, "--cpuprofile", cpu, "--memprofile", mem, trace}
			if code := cli.Main(args, nil, &stdout, &stderr); code != cli.ExitOK {
				t.Fatalf("blockscope %s = exit %d; want 0\n%s", strings.Join(args, " "), code, stderr.String())
			}
			for _, p := range []string{cpu, mem} {
				f, err := os.Open(p)
				if err != nil {
					t.Fatal(err)
				}
				zr, err := gzip.NewReader(f)
				if err != nil {
					t.Fatalf("%s: not a pprof profile: %v", filepath.Base(p), err)
				}
				if n, err := io.Copy(io.Discard, zr); err != nil || n == 0 {
					t.Errorf("%s: %d bytes, %v; want a profile", filepath.Base(p), n, err)
				}
				f.Close()
			}

			stderr.Reset()
			bad := filepath.Join(dir, "no", "such", "dir", "cpu.prof")
			args = []string{cmd, "--cpuprofile", bad, trace}
			if code := cli.Main(args, nil, &stdout, &stderr); code != cli.ExitUsage || !strings.Contains(stderr.String(), "--cpuprofile") {
				t.Errorf("blockscope %s = exit %d, %q; want exit 2 naming --cpuprofile", strings.Join(args, " "), code, stderr.String())
			}
		})
	}
}
