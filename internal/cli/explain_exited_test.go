package cli_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blockscope/blockscope/internal/cli"
	"github.com/blockscope/blockscope/parse"
)

// TestExplainExited: --explain finds a goroutine that exited long before
// the end, although analyze keeps no record of most exited goroutines.
func TestExplainExited(t *testing.T) {
	path := filepath.Join("..", "..", "parse", "testdata", "blocked.trace")
	tr, err := parse.File(path, parse.Options{DropBlocks: true})
	if err != nil {
		t.Fatal(err)
	}
	dropped, err := parse.File(path, parse.Options{DropBlocks: true, DropExited: true})
	if err != nil {
		t.Fatal(err)
	}
	id := parse.NoGoroutine
	for g := range tr.All() {
		if g.State == parse.StateExited && !g.System && dropped.Goroutine(g.ID) == nil {
			id = g.ID
			break
		}
	}
	if id == parse.NoGoroutine {
		t.Fatal("blocked.trace has no exited goroutine whose record is dropped")
	}
	var stdout, stderr bytes.Buffer
	if code := cli.Main([]string{"analyze", "--explain", fmt.Sprint(id), path}, nil, &stdout, &stderr); code != cli.ExitOK || !strings.Contains(stdout.String(), "exited") {
		t.Errorf("analyze --explain %d = exit %d; want 0 and the goroutine's exit\n%s%s", id, code, stdout.String(), stderr.String())
	}
}
