package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/gonum/graph/formats/dot"
	"gonum.org/v1/gonum/graph/formats/dot/ast"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/internal/cli"
	"github.com/blockscope/blockscope/internal/corpus"
	"github.com/blockscope/blockscope/parse"
)

// dotGraph is what a test reads of a DOT file, parsed by gonum's DOT
// parser: each cluster's label and node ids, each node's attributes, and
// the edges between clusters.
type dotGraph struct {
	clusters map[string][]string // cluster label → node ids
	attrs    map[string]map[string]string
	edges    [][2]string
}

func parseDOT(t *testing.T, src string) dotGraph {
	t.Helper()
	file, err := dot.ParseString(src)
	if err != nil {
		t.Fatalf("hb wrote DOT that does not parse: %v\n%s", err, src)
	}
	if len(file.Graphs) != 1 {
		t.Fatalf("hb wrote %d graphs; want 1", len(file.Graphs))
	}
	g := dotGraph{clusters: map[string][]string{}, attrs: map[string]map[string]string{}}
	var walk func(stmts []ast.Stmt, cluster string)
	walk = func(stmts []ast.Stmt, cluster string) {
		label := ""
		for _, s := range stmts {
			if a, ok := s.(*ast.Attr); ok && a.Key == "label" {
				label = unquote(a.Val)
			}
		}
		for _, s := range stmts {
			switch s := s.(type) {
			case *ast.Subgraph:
				walk(s.Stmts, s.ID)
			case *ast.NodeStmt:
				id := s.Node.ID
				g.clusters[label] = append(g.clusters[label], id)
				m := map[string]string{}
				for _, a := range s.Attrs {
					m[a.Key] = unquote(a.Val)
				}
				g.attrs[id] = m
			case *ast.EdgeStmt:
				from, ok1 := s.From.(*ast.Node)
				to, ok2 := s.To.Vertex.(*ast.Node)
				if ok1 && ok2 && cluster == "" {
					g.edges = append(g.edges, [2]string{from.ID, to.ID})
				}
			}
		}
	}
	walk(file.Graphs[0].Stmts, "")
	return g
}

func unquote(s string) string {
	if u, err := strconv.Unquote(s); err == nil {
		return u
	}
	return s
}

// TestHBFinding draws finding 1 of the deadlock-abba fixture (the deadlock
// of analyze's numbering) and checks the DOT by parsing it: a lane for each
// deadlocked goroutine and for main, which started and woke them; each
// deadlocked goroutine's last node marked blocked at the end, on the Lock
// annotation (the primitive's park folded into it); no park or sleep node.
func TestHBFinding(t *testing.T) {
	path := filepath.Join("..", "..", "fixtures", "deadlock-abba", "testdata", "go126.trace")
	res, err := detect.Run(path, parse.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) == 0 || res.Findings[0].Kind != "deadlock" {
		t.Fatalf("analyze's finding 1 is not the deadlock: %+v", res.Findings)
	}
	stuck := res.Findings[0].Goroutines
	code, out, errOut := run("hb", "--finding", "1", path)
	if code != cli.ExitOK || errOut != "" {
		t.Fatalf("hb --finding 1 = %d, stderr %q; want 0, none", code, errOut)
	}
	g := parseDOT(t, out)
	var lanes []string
	for label := range g.clusters {
		if label != "" && strings.HasPrefix(label, "G") {
			lanes = append(lanes, label)
		}
	}
	slices.Sort(lanes)
	want := []string{"G1 main.main"}
	for _, id := range stuck {
		want = append(want, "G"+strconv.FormatInt(int64(id), 10)+" main.transfer")
	}
	slices.Sort(want)
	if !slices.Equal(lanes, want) {
		t.Errorf("hb --finding 1 lanes = %q; want %q", lanes, want)
	}
	for _, id := range stuck {
		label := "G" + strconv.FormatInt(int64(id), 10) + " main.transfer"
		nodes := g.clusters[label]
		if len(nodes) == 0 {
			continue
		}
		last := g.attrs[nodes[len(nodes)-1]]
		if !strings.HasPrefix(last["label"], "BLOCKED AT END\n") || !strings.Contains(last["label"], "Mutex#") || !strings.Contains(last["label"], "main.go:25") {
			t.Errorf("%s's last node = %q; want it marked blocked at end, on the Lock at main.go:25", label, last["label"])
		}
		for _, n := range nodes {
			l := g.attrs[n]["label"]
			if strings.Contains(l, "main.go:25") && strings.HasPrefix(l, "block (") {
				t.Errorf("%s has the primitive's park as a node of its own: %q", label, l)
			}
		}
	}
	for id, a := range g.attrs {
		if strings.Contains(a["label"], "(sleep)") {
			t.Errorf("node %s is a sleep: %q; sleeps fold away without --sleeps", id, a["label"])
		}
	}
	if len(g.edges) == 0 {
		t.Errorf("hb --finding 1 has no edge between goroutines:\n%s", out)
	}
	if !strings.Contains(out, "// folded: 2 parks") {
		t.Errorf("the DOT does not say what it folded:\n%s", out)
	}
	graphviz(t, out)

	// --parks and --sleeps draw them.
	_, out, _ = run("hb", "--finding", "1", "--parks", "--sleeps", path)
	if !strings.Contains(out, "block (chan receive)\\ndeadlock-abba/main.go:25") || !strings.Contains(out, "(sleep)") {
		t.Errorf("hb --parks --sleeps does not draw the park and the sleeps:\n%s", out)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--finding", "9"}, "--finding 9: the trace has " + plural(len(res.Findings), "finding")},
		{[]string{"--finding", "-1"}, "--finding -1: want a finding's number"},
		{[]string{"--finding", "1", "--goroutine", "3"}, "--finding and --goroutine both choose goroutines"},
	} {
		code, _, errOut := run(append(append([]string{"hb"}, tt.args...), path)...)
		if code != cli.ExitUsage || !strings.Contains(errOut, tt.want) {
			t.Errorf("hb %q = %d, %q; want %d, %q", tt.args, code, errOut, cli.ExitUsage, tt.want)
		}
	}
}

// TestHBFitsGraphviz draws whole traces of the corpus with hb's defaults
// and has Graphviz lay them out: no side may pass its 32767-pixel bitmap
// limit. Without Graphviz or the corpus, it skips.
func TestHBFitsGraphviz(t *testing.T) {
	dotPath, err := exec.LookPath("dot")
	if err != nil {
		t.Skip("Graphviz's dot is not installed")
	}
	paths := []string{
		filepath.Join("..", "..", "report", "testdata", "hb.trace"),
		filepath.Join("..", "..", "fixtures", "sema-backlog-annotated", "testdata", "go126.trace"),
		filepath.Join("..", "..", "fixtures", "sf-herd-annotated", "testdata", "go126.trace"),
	}
	// A trace whose whole graph Graphviz had to scale down to 32767 px.
	if dir, ok := corpus.Find(); ok {
		paths = append(paths, filepath.Join(dir, "go126", "xsync-singleflight.trace"))
	}
	for _, path := range paths {
		code, out, errOut := run("hb", path)
		if code != cli.ExitOK {
			t.Fatalf("hb %s = %d, %s", path, code, errOut)
		}
		cmd := exec.Command(dotPath, "-Tplain")
		cmd.Stdin = strings.NewReader(out)
		plain, err := cmd.Output()
		if err != nil {
			t.Fatalf("dot -Tplain: %v", err)
		}
		var w, h float64
		first, _, _ := bytes.Cut(plain, []byte("\n"))
		if f := strings.Fields(string(first)); len(f) >= 4 {
			w, _ = strconv.ParseFloat(f[2], 64)
			h, _ = strconv.ParseFloat(f[3], 64)
		}
		if w == 0 || w*96 > 32767 || h*96 > 32767 {
			t.Errorf("hb %s draws %.0f x %.0f px at 96 dpi; want both sides within 32767 (stderr %q)", path, w*96, h*96, errOut)
		}
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// TestHBChoosesAsWhole checks that --finding and --related, which read a
// file once more for the goroutines to draw and then select while reading,
// draw what they draw from standard input, read once into the whole graph.
func TestHBChoosesAsWhole(t *testing.T) {
	compared := 0
	paths := []string{hbFixture}
	for _, name := range []string{"deadlock-abba", "deadlock-cond", "mutex-convoy", "sf-herd-annotated", "lock-order-ring-gated"} {
		paths = append(paths, filepath.Join("..", "..", "fixtures", name, "testdata", "go126.trace"))
	}
	for _, path := range paths {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{
			{"--finding", "1"}, {"--finding", "2"}, {"--finding", "3"},
			{"--goroutine", "1", "--related"}, {"--goroutine", "1", "--related", "--system", "--max-nodes", "60"},
			{"--goroutine", "10", "--related"}, {"--goroutine", "30", "--related"},
		} {
			argv := append(append([]string{"hb", "--format", "json"}, args...), path)
			code, out, errOut := run(argv...)
			var wout, werrOut strings.Builder
			argv[len(argv)-1] = "-"
			wcode := cli.Main(argv, strings.NewReader(string(src)), &wout, &werrOut)
			if code != wcode {
				t.Errorf("hb %v %s = %d (%s); from standard input %d (%s)", args, path, code, errOut, wcode, werrOut.String())
				continue
			}
			if code != cli.ExitOK {
				continue
			}
			compared++
			got, want := readGraph(t, out), readGraph(t, wout.String())
			got.Trace = want.Trace
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(want)
			if string(gj) != string(wj) {
				t.Errorf("hb %v %s:\n%s\nwant (from standard input, the whole graph):\n%s", args, path, gj, wj)
			}
		}
	}
	if compared < 10 {
		t.Errorf("%d graphs compared; want 10 or more", compared)
	}
}
