package report_test

//go:generate go run -trimpath ./testdata/gen -o testdata/hb.trace

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/blockscope/blockscope/hbgraph"
	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
	"github.com/blockscope/blockscope/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixtureView parses testdata/hb.trace and selects all of it.
func fixtureView(t *testing.T) *hbgraph.View {
	t.Helper()
	b := hbgraph.NewBuilder(hbgraph.Options{})
	if _, err := parse.File(filepath.Join("testdata", "hb.trace"), parse.Options{DropBlocks: true}, b); err != nil {
		t.Fatal(err)
	}
	v, err := b.Graph().Select(hbgraph.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// synthetic builds a graph from events, one nanosecond apart, in a trace
// at path.
func synthetic(t *testing.T, path string, events ...parse.Event) *hbgraph.Graph {
	t.Helper()
	b := hbgraph.NewBuilder(hbgraph.Options{})
	tr := &parse.Trace{Path: path}
	for i := range events {
		ev := events[i]
		ev.Time = parse.Time(i + 1)
		b.Event(tr, &ev)
	}
	b.Finalize(tr)
	return b.Graph()
}

func annotation(g parse.GoID, e wire.Event) parse.Event {
	return parse.Event{Kind: parse.EvAnnotation, G: g, Peer: parse.NoGoroutine, Annotation: e}
}

func selectAll(t *testing.T, g *hbgraph.Graph, f hbgraph.Filter) *hbgraph.View {
	t.Helper()
	v, err := g.Select(f)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// sourceSum is testdata/gen's sum, as it writes it beside the trace.
func sourceSum(t *testing.T) string {
	names, err := filepath.Glob(filepath.Join("testdata", "gen", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	h := sha256.New()
	for _, name := range names {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(h, "%s\n%d\n", filepath.Base(name), len(src))
		h.Write(src)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestGeneratedUpToDate(t *testing.T) {
	sum, err := os.ReadFile(filepath.Join("testdata", "hb.trace.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.TrimSpace(string(sum)), sourceSum(t); got != want {
		t.Errorf("testdata/hb.trace was written by another version of testdata/gen: run go generate ./report, then go test ./report -update")
	}
}

func TestGolden(t *testing.T) {
	v := fixtureView(t)
	tests := []struct {
		file   string
		render func(*bytes.Buffer, *hbgraph.View) error
	}{
		{"hb.dot", func(b *bytes.Buffer, v *hbgraph.View) error { return report.DOT(b, v) }},
		{"hb.json", func(b *bytes.Buffer, v *hbgraph.View) error { return report.GraphJSON(b, v) }},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var got bytes.Buffer
			if err := tt.render(&got, v); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.file)
			if *update {
				if err := os.WriteFile(path, got.Bytes(), 0o666); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./report -update to write it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("%s differs from its golden file; if the change is intended, run go test ./report -update\ngot:\n%s", tt.file, firstDiff(got.String(), string(want)))
			}
		})
	}
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n\t%s\nwant:\n\t%s", i+1, gl, wl)
		}
	}
	return "(same lines)"
}

// TestFixtureGraph checks what the golden files hold: the three workers
// contend the named mutex, and main's go statements start them.
func TestFixtureGraph(t *testing.T) {
	v := fixtureView(t)
	var doc report.GraphDocument
	var buf bytes.Buffer
	if err := report.GraphJSON(&buf, v); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	rules := map[string]int{}
	for _, e := range doc.Edges {
		rules[e.Rule]++
	}
	want := map[string]int{
		"go":          4, // three workers and the producer
		"unlock-lock": 3, // main → a worker → a worker → a worker
		"waitgroup":   6, // main's three adds and the workers' three dones → main's wake
		"chan-send":   1, // the producer's send → main's receive
		"chan-recv":   1, // main's receive → the producer's send completing
	}
	for rule, n := range want {
		if rules[rule] != n {
			t.Errorf("%s edges = %d; want %d (all: %v)", rule, rules[rule], n, rules)
		}
	}
	if rules["unblock"] == 0 {
		t.Errorf("no runtime unblock edges (all: %v)", rules)
	}
	if n := len(doc.Goroutines); n != 5 {
		t.Errorf("goroutines = %d; want 5 (main, three workers, the producer)", n)
	}
	for _, n := range doc.Nodes {
		if n.Location != nil && strings.Contains(n.Location.File, "internal/wire") {
			t.Errorf("node %d (%s) is located in the annotation encoder: %v", n.ID, n.Label, n.Location)
		}
	}
}

// weirdName holds what DOT must escape: quotes, backslashes, a newline,
// braces, angle brackets and a non-ASCII letter.
const weirdName = "a \"quoted\" \\name\\ {x} <y> é\nsecond line"

func weirdGraph(t *testing.T) *hbgraph.Graph {
	return synthetic(t, `dir "with" quotes\and\backslashes/trace.out`,
		parse.Event{Kind: parse.EvCreate, G: 2, Peer: 1},
		annotation(1, wire.Event{Kind: wire.KindMutex, Object: 1, Op: wire.OpName, Key: weirdName}),
		annotation(1, wire.Event{Kind: wire.KindMutex, Object: 1, Op: wire.OpLock, Seq: 1}),
		annotation(1, wire.Event{Kind: wire.KindMutex, Object: 1, Op: wire.OpUnlock, Seq: 1}),
		annotation(2, wire.Event{Kind: wire.KindMutex, Object: 1, Op: wire.OpLock, Seq: 2}),
		annotation(2, wire.Event{Kind: wire.KindMutex, Object: 1, Op: wire.OpUnlock, Seq: 2}),
	)
}

func TestDOTEscaping(t *testing.T) {
	var buf bytes.Buffer
	if err := report.DOT(&buf, selectAll(t, weirdGraph(t), hbgraph.Filter{})); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	// The name appears inside one quoted DOT string, its quotes and
	// backslashes escaped and its newline a \n.
	label := "Mutex#1 " + strconv.Quote(weirdName) + " unlock 1"
	quoted := strconv.Quote(label)
	if !strings.Contains(out, quoted[1:len(quoted)-1]) {
		t.Errorf("DOT lacks the escaped label %s:\n%s", quoted, out)
	}
	_, graph, _ := strings.Cut(out, "digraph hb {")
	for _, line := range strings.Split(graph, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "//") {
			t.Errorf("comment line inside the graph: %q", line)
		}
	}
	if !strings.HasPrefix(out, "// blockscope hb dir \"with\" quotes\\and\\backslashes/trace.out:") {
		t.Errorf("DOT starts %q; want the summary comment", out[:min(len(out), 80)])
	}
	checkGraphviz(t, out)
}

func TestDOTCut(t *testing.T) {
	g := weirdGraph(t)
	var buf bytes.Buffer
	// Mutex 1's handoff, from its first unlock to its second lock, goes
	// from the nodes drawn to those left out.
	v := selectAll(t, g, hbgraph.Filter{MaxNodes: 4})
	if err := report.DOT(&buf, v); err != nil {
		t.Fatal(err)
	}
	want := "// cut: 2 of 6 selected nodes (and 1 edge to them) left out, from +0s on\n"
	if !strings.Contains(buf.String(), want) {
		t.Errorf("DOT lacks %q:\n%s", want, buf.String())
	}
	if got := report.CutMessage(selectAll(t, g, hbgraph.Filter{})); got != "" {
		t.Errorf("CutMessage(uncut view) = %q; want \"\"", got)
	}
	checkGraphviz(t, buf.String())
}

func TestDOTAcceptedByGraphviz(t *testing.T) {
	var buf bytes.Buffer
	if err := report.DOT(&buf, fixtureView(t)); err != nil {
		t.Fatal(err)
	}
	checkGraphviz(t, buf.String())
}

// checkGraphviz runs Graphviz's dot on src and fails if dot rejects it.
func checkGraphviz(t *testing.T, src string) {
	t.Helper()
	path, err := exec.LookPath("dot")
	if err != nil {
		t.Skip("Graphviz's dot is not installed (apt-get install graphviz): skipping the check that it accepts the DOT")
	}
	cmd := exec.Command(path, "-Tsvg", "-o", os.DevNull)
	cmd.Stdin = strings.NewReader(src)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || strings.Contains(stderr.String(), "rror") {
		t.Errorf("dot rejects the DOT: %v\n%s\nDOT:\n%s", err, stderr.String(), src)
	}
}

func TestGraphJSON(t *testing.T) {
	g := weirdGraph(t)
	var buf bytes.Buffer
	if err := report.GraphJSON(&buf, selectAll(t, g, hbgraph.Filter{})); err != nil {
		t.Fatal(err)
	}
	var doc report.GraphDocument
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatalf("GraphJSON wrote invalid JSON: %v\n%s", err, buf.String())
	}
	var rules []string
	for _, e := range doc.Edges {
		rules = append(rules, fmt.Sprintf("%d→%d %s %s#%d", e.From, e.To, e.Rule, e.Primitive, e.Object))
	}
	want := []string{"0→1 go #0", "3→4 unlock-lock mutex#1"}
	if !slices.Equal(rules, want) {
		t.Errorf("edges = %q; want %q", rules, want)
	}
	if len(doc.Nodes) != 6 || doc.Schema != report.GraphSchema || doc.Trace != g.Path || doc.Cut != nil {
		t.Errorf("document = %d nodes, schema %d, trace %q, cut %v; want 6, %d, %q, none", len(doc.Nodes), doc.Schema, doc.Trace, doc.Cut, report.GraphSchema, g.Path)
	}
	var lock report.GraphNode
	for _, n := range doc.Nodes {
		if n.ID == 2 {
			lock = n
		}
	}
	if lock.Op != "lock" || lock.Seq == nil || *lock.Seq != 1 || lock.Primitive != "mutex" || lock.Object != 1 {
		t.Errorf("node 2 = %+v; want mutex#1 lock 1", lock)
	}
}
