package cli_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blockscope/blockscope/internal/cli"
	"github.com/blockscope/blockscope/internal/corpus"
	"github.com/blockscope/blockscope/report"
)

// hbFixture is report's checked-in trace: main starts three goroutines that
// contend an annotated mutex, waits for them on an annotated WaitGroup,
// and takes one message from an annotated channel.
var hbFixture = filepath.Join("..", "..", "report", "testdata", "hb.trace")

// readGraph decodes hb's JSON output.
func readGraph(t *testing.T, out string) report.GraphDocument {
	t.Helper()
	var doc report.GraphDocument
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("hb --format json wrote invalid JSON: %v\n%s", err, out)
	}
	return doc
}

// graphviz fails the test if Graphviz's dot rejects src; it does nothing
// where dot is not installed.
func graphviz(t *testing.T, src string) {
	t.Helper()
	path, err := exec.LookPath("dot")
	if err != nil {
		t.Log("Graphviz's dot is not installed: not checking that it accepts the DOT")
		return
	}
	cmd := exec.Command(path, "-Tsvg", "-o", os.DevNull)
	cmd.Stdin = strings.NewReader(src)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("dot rejects the DOT: %v\n%s", err, out)
	}
}

// TestHBTinyCorpus is the acceptance test: three goroutines
// contending a plain sync.Mutex, started by main, hand it over through the
// runtime's unblocks.
func TestHBTinyCorpus(t *testing.T) {
	path := corpus.Files(t, "go126", "tiny-leak-and-mutex.trace")[0]
	code, out, errOut := run("hb", "--format", "json", path)
	if code != cli.ExitOK || errOut != "" {
		t.Fatalf("hb --format json = %d, stderr %q; want 0, none", code, errOut)
	}
	doc := readGraph(t, out)
	var workers []int64
	for _, l := range doc.Goroutines {
		if l.Entry == "main.main.func1" {
			workers = append(workers, int64(l.Goroutine))
		}
		if strings.HasPrefix(l.Entry, "runtime") {
			t.Errorf("runtime goroutine G%d (%s) shown without --system", l.Goroutine, l.Entry)
		}
	}
	if len(workers) != 3 {
		t.Fatalf("lanes of main.main.func1 = %v; want three", workers)
	}
	isWorker := func(g int64) bool { return g == workers[0] || g == workers[1] || g == workers[2] }
	goroutineOf := map[int]int64{}
	for _, n := range doc.Nodes {
		goroutineOf[int(n.ID)] = int64(n.Goroutine)
	}
	goEdges, handoffs := 0, 0
	for _, e := range doc.Edges {
		from, to := goroutineOf[int(e.From)], goroutineOf[int(e.To)]
		switch {
		case e.Rule == "go" && from == 1 && isWorker(to):
			goEdges++
		case e.Rule == "unblock" && isWorker(from) && isWorker(to):
			handoffs++
		}
	}
	if goEdges != 3 || handoffs != 2 {
		t.Errorf("go edges from main to the workers, unblocks between them = %d, %d; want 3, 2", goEdges, handoffs)
	}

	code, dot, errOut := run("hb", path)
	if code != cli.ExitOK || errOut != "" || !strings.Contains(dot, `label="G1 main.main"`) {
		t.Fatalf("hb = %d, stderr %q; want 0, none and a lane for G1 main.main:\n%s", code, errOut, dot)
	}
	graphviz(t, dot)
}

// TestHBCorpusBad checks that hb rejects every damaged input as analyze
// does: exit 2 and the same one line.
func TestHBCorpusBad(t *testing.T) {
	for _, path := range corpus.Files(t, "bad", "*") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			code, out, errOut := run("hb", path)
			acode, _, aerrOut := run("analyze", path)
			if code != acode {
				t.Errorf("hb = %d; analyze = %d; want the same", code, acode)
			}
			if acode != cli.ExitUsage {
				return // readable after all (the gzip-compressed trace)
			}
			if errOut != aerrOut || out != "" {
				t.Errorf("hb: stdout %q, stderr %q; want nothing and analyze's %q", out, errOut, aerrOut)
			}
		})
	}
}

func TestHBFlags(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string // a substring; "" wants none
		check      func(t *testing.T, out string)
	}{
		{
			name:     "all of it",
			args:     []string{"--format", "json"},
			wantCode: cli.ExitOK,
			check: func(t *testing.T, out string) {
				if doc := readGraph(t, out); len(doc.Goroutines) != 5 || doc.Cut != nil {
					t.Errorf("goroutines, cut = %d, %v; want 5, none", len(doc.Goroutines), doc.Cut)
				}
			},
		},
		{
			name:       "a window after the end",
			args:       []string{"--format", "json", "--from", "1h"},
			wantCode:   cli.ExitOK,
			wantStderr: "the graph is empty: nothing the filters select (the trace lasts ",
			check: func(t *testing.T, out string) {
				if doc := readGraph(t, out); len(doc.Nodes) != 0 {
					t.Errorf("%d nodes; want none", len(doc.Nodes))
				}
			},
		},
		{
			name:     "one goroutine",
			args:     []string{"--format", "json", "--goroutine", "1"},
			wantCode: cli.ExitOK,
			check: func(t *testing.T, out string) {
				if doc := readGraph(t, out); len(doc.Goroutines) != 1 || doc.Goroutines[0].Goroutine != 1 || len(doc.Edges) == 0 {
					t.Errorf("goroutines = %+v, %d edges; want G1 alone, with its own edges", doc.Goroutines, len(doc.Edges))
				}
			},
		},
		{
			name:     "related",
			args:     []string{"--format", "json", "--goroutine", "1", "--related"},
			wantCode: cli.ExitOK,
			check: func(t *testing.T, out string) {
				if doc := readGraph(t, out); len(doc.Goroutines) != 5 {
					t.Errorf("goroutines = %d; want main and the four it exchanged edges with", len(doc.Goroutines))
				}
			},
		},
		{
			name:     "object",
			args:     []string{"--format", "json", "--object", "1"},
			wantCode: cli.ExitOK,
			check: func(t *testing.T, out string) {
				doc := readGraph(t, out)
				for _, n := range doc.Nodes {
					if n.Object != 1 {
						t.Errorf("node %d (%s) is not about object 1", n.ID, n.Label)
					}
				}
				if len(doc.Nodes) == 0 || len(doc.Edges) != 3 {
					t.Errorf("%d nodes, %d edges; want the mutex's nodes and its 3 handoffs", len(doc.Nodes), len(doc.Edges))
				}
			},
		},
		{
			name:       "max nodes",
			args:       []string{"--max-nodes", "5"},
			wantCode:   cli.ExitOK,
			wantStderr: "blockscope: cut: ",
			check: func(t *testing.T, out string) {
				if !strings.Contains(out, "\n// cut: ") {
					t.Errorf("DOT lacks the cut comment:\n%s", out)
				}
				graphviz(t, out)
			},
		},
		{
			name:     "time window",
			args:     []string{"--format", "json", "--from", "5ms", "--to", "7ms"},
			wantCode: cli.ExitOK,
			check: func(t *testing.T, out string) {
				nodes := readGraph(t, out).Nodes
				if len(nodes) == 0 {
					t.Fatal("no node from 5ms to 7ms; want the workers' second round")
				}
				for _, n := range nodes {
					if n.Time < 5e6 || n.Time > 7e6 {
						t.Errorf("node %d at %v: outside 5ms to 7ms", n.ID, n.Time)
					}
				}
			},
		},
		{name: "unknown format", args: []string{"--format", "svg"}, wantCode: cli.ExitUsage, wantStderr: `unknown --format "svg": want dot or json`},
		{name: "related alone", args: []string{"--related"}, wantCode: cli.ExitUsage, wantStderr: "--related needs --goroutine"},
		{name: "backwards window", args: []string{"--from", "2ms", "--to", "1ms"}, wantCode: cli.ExitUsage, wantStderr: "--to 1ms is before --from 2ms"},
		{name: "negative time", args: []string{"--from", "-1ms"}, wantCode: cli.ExitUsage, wantStderr: "want them >= 0"},
		{name: "negative max nodes", args: []string{"--max-nodes", "-1"}, wantCode: cli.ExitUsage, wantStderr: "--max-nodes -1"},
		{name: "unknown goroutine", args: []string{"--goroutine", "999"}, wantCode: cli.ExitUsage, wantStderr: "blockscope: no goroutine 999 in the trace"},
		{name: "unknown object", args: []string{"--object", "999"}, wantCode: cli.ExitUsage, wantStderr: "blockscope: no annotations about object 999 in the trace"},
		{
			name:     "object by its report spelling",
			args:     []string{"--format", "json", "--object", "Mutex#1"},
			wantCode: cli.ExitOK,
			check: func(t *testing.T, out string) {
				doc := readGraph(t, out)
				for _, n := range doc.Nodes {
					if n.Object != 1 || !strings.HasPrefix(n.Label, "Mutex#1 ") {
						t.Errorf("node %d (%s) is not about Mutex#1", n.ID, n.Label)
					}
				}
				if len(doc.Nodes) == 0 {
					t.Error("no node about Mutex#1")
				}
			},
		},
		{name: "object of another kind", args: []string{"--object", "Gadget#1"}, wantCode: cli.ExitUsage, wantStderr: `--object: object "Gadget#1": unknown kind "Gadget"`},
		{name: "object not a number", args: []string{"--object", "Mutex#x"}, wantCode: cli.ExitUsage, wantStderr: `--object: object "Mutex#x": want an id as reports write it (Mutex#2, or 2)`},
		{name: "bad goroutine id", args: []string{"--goroutine", "x"}, wantCode: cli.ExitUsage, wantStderr: `--goroutine "x": not a whole number: want goroutine ids`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := run(append(append([]string{"hb"}, tt.args...), hbFixture)...)
			if code != tt.wantCode {
				t.Errorf("hb %s = %d; want %d (stderr %q)", strings.Join(tt.args, " "), code, tt.wantCode, errOut)
			}
			if tt.wantStderr == "" && errOut != "" || !strings.Contains(errOut, tt.wantStderr) {
				t.Errorf("hb %s: stderr %q; want %q", strings.Join(tt.args, " "), errOut, tt.wantStderr)
			}
			if tt.check != nil {
				tt.check(t, out)
			}
		})
	}
}

// TestHBIncomplete draws what could be read of a trace whose later
// generations are cut off, and exits 2 unless --allow-incomplete.
func TestHBIncomplete(t *testing.T) {
	src, err := os.ReadFile(corpus.Files(t, "go126", "xsync-semaphore.trace")[0])
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cut.trace")
	if err := os.WriteFile(path, src[:len(src)*6/10], 0o666); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run("hb", "--max-nodes", "50", path)
	if code != cli.ExitUsage || !strings.Contains(out, "digraph hb {") || !strings.HasSuffix(errOut, "(the graph covers what was read; --allow-incomplete accepts it)\n") {
		t.Errorf("hb on a cut trace = %d, stderr %q, %d bytes out; want %d, the graph, and the error", code, errOut, len(out), cli.ExitUsage)
	}
	code, out, errOut = run("hb", "--max-nodes", "50", "--allow-incomplete", path)
	if code != cli.ExitOK || !strings.Contains(out, "digraph hb {") || !strings.Contains(errOut, "blockscope: warning: "+path+": trace is truncated or corrupt") {
		t.Errorf("hb --allow-incomplete on a cut trace = %d, stderr %q; want 0, the graph and a warning", code, errOut)
	}
}

func TestHBArgs(t *testing.T) {
	code, _, errOut := run("hb")
	if code != cli.ExitUsage || !strings.Contains(errOut, "hb: want TRACE, got 0 arguments") {
		t.Errorf("hb with no trace = %d, stderr %q; want %d and the argument named", code, errOut, cli.ExitUsage)
	}
}

func TestHBOutputFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "hb.dot")
	code, out, errOut := run("hb", "-o", file, hbFixture)
	if code != cli.ExitOK || out != "" || errOut != "" {
		t.Fatalf("hb -o = %d, stdout %q, stderr %q; want 0 and nothing printed", code, out, errOut)
	}
	dot, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(dot), "// blockscope hb ") || !strings.Contains(string(dot), "digraph hb {") {
		t.Errorf("%s holds:\n%s\nwant the DOT graph", file, dot)
	}
	if code, _, errOut := run("hb", "-o", filepath.Join(t.TempDir(), "missing", "hb.dot"), hbFixture); code != cli.ExitUsage || !strings.Contains(errOut, "writing the graph: ") {
		t.Errorf("hb -o into a missing directory = %d, stderr %q; want %d, a write error", code, errOut, cli.ExitUsage)
	}
}

func TestHBStdin(t *testing.T) {
	trace, err := os.ReadFile(hbFixture)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	code := cli.Main([]string{"hb", "--format", "json", "-"}, strings.NewReader(string(trace)), &out, &errOut)
	if code != cli.ExitOK || errOut.String() != "" {
		t.Fatalf("hb - = %d, stderr %q; want 0, none", code, errOut.String())
	}
	if doc := readGraph(t, out.String()); doc.Trace != "<stdin>" || len(doc.Goroutines) != 5 {
		t.Errorf("trace, goroutines = %q, %d; want <stdin>, 5", doc.Trace, len(doc.Goroutines))
	}
}

// TestHBCorpusGraphviz draws the start of every Go 1.26 corpus trace and
// has Graphviz lay it out.
func TestHBCorpusGraphviz(t *testing.T) {
	for _, path := range corpus.Files(t, "go126", "*.trace") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			if testing.Short() && strings.Contains(path, "stdlib-") {
				t.Skip("large trace, -short")
			}
			code, out, errOut := run("hb", "--max-nodes", "80", path)
			if code != cli.ExitOK || strings.Contains(errOut, "warning") {
				t.Fatalf("hb = %d, stderr %q; want 0, no warning", code, errOut)
			}
			graphviz(t, out)
		})
	}
}

// TestAnalyzeStdin: analyze - reads the command's standard input, not the
// process's (cli.Main is given it).
func TestAnalyzeStdin(t *testing.T) {
	trace, err := os.ReadFile(hbFixture)
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	code := cli.Main([]string{"analyze", "--format", "json", "-"}, strings.NewReader(string(trace)), &out, &errOut)
	if code != cli.ExitOK || errOut.String() != "" {
		t.Fatalf("analyze - = %d, stderr %q; want 0, none", code, errOut.String())
	}
	if !strings.Contains(out.String(), `"path": "<stdin>"`) || !strings.Contains(out.String(), `"complete": true`) {
		t.Errorf("analyze - read something else than the given trace:\n%.400s", out.String())
	}
}
