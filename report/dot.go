package report

import (
	"encoding/json"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/emicklei/dot"

	"github.com/blockscope/blockscope/hbgraph"
	"github.com/blockscope/blockscope/internal/wire"
	"github.com/blockscope/blockscope/parse"
)

// primColor colours an annotated edge by its primitive's kind.
var primColor = map[wire.Kind]string{
	wire.KindMutex:        "#d62728",
	wire.KindRWMutex:      "#ff7f0e",
	wire.KindReentrant:    "#8c564b",
	wire.KindCond:         "#9467bd",
	wire.KindOnce:         "#bcbd22",
	wire.KindOnceErr:      "#bcbd22",
	wire.KindWaitGroup:    "#1f77b4",
	wire.KindSemaphore:    "#2ca02c",
	wire.KindSingleflight: "#e377c2",
	wire.KindErrgroup:     "#17becf",
	wire.KindChan:         "#393b79",
}

// nodeFill colours a node by its kind.
var nodeFill = map[hbgraph.NodeKind]string{
	hbgraph.NodeStart:      "#eeeeee",
	hbgraph.NodeExit:       "#eeeeee",
	hbgraph.NodeGo:         "#ffffff",
	hbgraph.NodeBlock:      "#fde0dd",
	hbgraph.NodeWake:       "#e5f5e0",
	hbgraph.NodeUnblock:    "#fff7bc",
	hbgraph.NodeAnnotation: "#ffffff",
}

const (
	goColor      = "#000000"
	unblockColor = "#7f7f7f"
	orderColor   = "#bbbbbb"
	atEndColor   = "#d62728"
)

// DOT writes a happens-before view as a Graphviz digraph: one cluster
// (lane) per goroutine, labelled with its id and entry function, its nodes
// left to right in program order, and the edges between goroutines
// coloured by primitive (go statements black, runtime unblocks grey and
// dashed) and labelled with the primitive, object and rule. Each node
// says what happened, at which line of the user's code, and when. Comment
// lines at the top summarize the view and what its node limit cut.
func DOT(w io.Writer, v *hbgraph.View) error {
	g := v.Graph
	for _, c := range viewComments(v) {
		if _, err := fmt.Fprintf(w, "// %s\n", c); err != nil {
			return err
		}
	}
	root := dot.NewGraph(dot.Directed)
	root.ID("hb")
	root.Attrs(
		"rankdir", "LR", "newrank", "true", "fontname", "Helvetica", "fontsize", "12",
		"labelloc", "t", "label", "happens-before: "+oneLine(g.Path), "nodesep", "0.25", "ranksep", "0.3",
	)
	nodes := make(map[hbgraph.NodeID]dot.Node, v.Len())
	for i, l := range v.Lanes {
		sub := root.Subgraph(fmt.Sprintf("lane%06d", i), dot.ClusterOption{})
		label := fmt.Sprintf("G%d", l.G)
		if l.Entry != "" {
			label += " " + l.Entry
		}
		sub.Attrs("label", label, "labeljust", "l", "style", "rounded", "color", "#999999", "fontname", "Helvetica")
		prev := dot.Node{}
		for j, id := range l.Nodes {
			n := g.Node(id)
			dn := sub.Node(fmt.Sprintf("n%09d", id))
			dn.Attrs(
				"label", nodeLabel(g, id),
				"tooltip", nodeTooltip(g, id),
				"shape", "box", "style", "rounded,filled", "fillcolor", nodeFill[n.Kind],
				"fontname", "Helvetica", "fontsize", "9",
			)
			if n.Kind == hbgraph.NodeAnnotation {
				dn.Attr("color", primColor[n.Prim])
			}
			if v.AtEnd[id] {
				dn.Attrs("label", "BLOCKED AT END\n"+nodeLabel(g, id), "color", atEndColor, "penwidth", "3")
			}
			if j > 0 {
				sub.Edge(prev, dn).Attrs("color", orderColor, "arrowsize", "0.4", "weight", "10")
			}
			nodes[id] = dn
			prev = dn
		}
	}
	for _, e := range v.Edges {
		de := root.Edge(nodes[e.From], nodes[e.To])
		color := primColor[e.Prim]
		switch e.Rule {
		case hbgraph.RuleGo:
			color = goColor
			de.Attr("penwidth", "1.5")
		case hbgraph.RuleUnblock:
			color = unblockColor
			de.Attr("style", "dashed")
		}
		label := g.EdgeLabel(e)
		if e.Cyclic {
			label += " (cycle: ignored)"
			de.Attr("style", "dotted")
		}
		de.Attrs("color", color, "fontcolor", color, "label", label, "tooltip", e.Rule.Doc(),
			"fontname", "Helvetica", "fontsize", "8", "weight", "0")
	}
	var b strings.Builder
	root.Write(&b)
	_, err := io.WriteString(w, b.String())
	return err
}

// viewComments summarizes a view in lines for the top of its DOT file.
func viewComments(v *hbgraph.View) []string {
	lines := []string{fmt.Sprintf("blockscope hb %s: %s, %s, %s", oneLine(v.Graph.Path),
		plural(len(v.Lanes), "goroutine"), plural(v.Len(), "node"), plural(len(v.Edges), "edge"))}
	if c := CutMessage(v); c != "" {
		lines = append(lines, c)
	}
	if c := FoldMessage(v); c != "" {
		lines = append(lines, c)
	}
	for _, w := range v.Graph.Warnings {
		lines = append(lines, "warning: "+oneLine(w))
	}
	return lines
}

// CutMessage says what a view's node limit left out, or "" if nothing.
func CutMessage(v *hbgraph.View) string {
	c := v.Cut
	if c.Nodes == 0 {
		return ""
	}
	return fmt.Sprintf("cut: %d of %s (and %s to them) left out, from +%v on",
		c.Nodes, plural(c.Selected, "selected node"), plural(c.Edges, "edge"), roundTime(c.After))
}

// FoldMessage says what a view's folding left out, or "" if nothing.
func FoldMessage(v *hbgraph.View) string {
	var parts []string
	if n := v.Folded.Parks; n > 0 {
		parts = append(parts, fmt.Sprintf("%s inside blockscope's primitives drawn as part of their operation", plural(n, "park")))
	}
	if n := v.Folded.Sleeps; n > 0 {
		parts = append(parts, fmt.Sprintf("%s left out with the timer wakes ending them", plural(n, "sleep")))
	}
	if len(parts) == 0 {
		return ""
	}
	return "folded: " + strings.Join(parts, "; ") + " (hb --parks, --sleeps draw them)"
}

// nodeLabel is what happened, where, and when.
func nodeLabel(g *hbgraph.Graph, id hbgraph.NodeID) string {
	lines := []string{g.Label(id)}
	if loc, ok := g.Location(id); ok && loc.File != "" {
		lines = append(lines, shortFile(loc.File)+":"+fmt.Sprint(loc.Line))
	}
	lines = append(lines, "+"+roundTime(g.Node(id).Time).String())
	return strings.Join(lines, "\n")
}

// nodeTooltip names the node's function and full path.
func nodeTooltip(g *hbgraph.Graph, id hbgraph.NodeID) string {
	loc, ok := g.Location(id)
	if !ok || loc.Func == "" {
		return g.Label(id)
	}
	return fmt.Sprintf("%s\n%s\n%s:%d", g.Label(id), loc.Func, loc.File, loc.Line)
}

// shortFile keeps a path's last two elements.
func shortFile(file string) string {
	dir, base := path.Split(file)
	if dir == "" {
		return base
	}
	return path.Join(path.Base(dir), base)
}

func roundTime(t parse.Time) time.Duration {
	return time.Duration(t).Round(time.Microsecond)
}

// oneLine makes a string safe for a one-line comment.
func oneLine(s string) string {
	return strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
}

// GraphSchema is the version of GraphJSON's document.
const GraphSchema = 1

// GraphDocument is GraphJSON's document: a view's goroutines, nodes and
// edges for other tools.
//
//	{"schema": 1, "trace": PATH,
//	 "goroutines": [{"goroutine", "entry", "nodes": [ID ...]}],
//	 "nodes": [{"id", "goroutine", "kind", "time_ns", "label", "location",
//	            "reason", "peer", "primitive", "object", "op", "seq", "n"}],
//	 "edges": [{"from", "to", "rule", "label", "primitive", "object", "cyclic"}],
//	 "cut": {"nodes", "edges", "selected", "after_ns"}, "warnings": [...]}
type GraphDocument struct {
	Schema     int            `json:"schema"`
	Trace      string         `json:"trace"`
	Goroutines []GraphLane    `json:"goroutines"`
	Nodes      []GraphNode    `json:"nodes"`
	Edges      []GraphEdge    `json:"edges"`
	Cut        *hbgraphCutDoc `json:"cut,omitempty"`
	Warnings   []string       `json:"warnings,omitempty"`
}

// GraphLane is one goroutine of a GraphDocument.
type GraphLane struct {
	Goroutine parse.GoID       `json:"goroutine"`
	Entry     string           `json:"entry,omitempty"`
	Nodes     []hbgraph.NodeID `json:"nodes"`
}

// GraphNode is one node of a GraphDocument. Seq is set for annotations
// only.
type GraphNode struct {
	ID        hbgraph.NodeID `json:"id"`
	Goroutine parse.GoID     `json:"goroutine"`
	Kind      string         `json:"kind"`
	Time      time.Duration  `json:"time_ns"`
	Label     string         `json:"label"`
	Location  *parse.Frame   `json:"location,omitempty"`
	Reason    string         `json:"reason,omitempty"`
	Peer      *parse.GoID    `json:"peer,omitempty"`
	Primitive string         `json:"primitive,omitempty"`
	Object    wire.ObjectID  `json:"object,omitempty"`
	Op        string         `json:"op,omitempty"`
	Seq       *uint64        `json:"seq,omitempty"`
	N         int64          `json:"n,omitempty"`
	// AtEnd marks where the goroutine was still blocked when the trace
	// ended.
	AtEnd bool `json:"blocked_at_end,omitempty"`
}

// GraphEdge is one edge of a GraphDocument: From happens before To.
type GraphEdge struct {
	From      hbgraph.NodeID `json:"from"`
	To        hbgraph.NodeID `json:"to"`
	Rule      string         `json:"rule"`
	Label     string         `json:"label"`
	Primitive string         `json:"primitive,omitempty"`
	Object    wire.ObjectID  `json:"object,omitempty"`
	Cyclic    bool           `json:"cyclic,omitempty"`
}

type hbgraphCutDoc struct {
	Nodes    int           `json:"nodes"`
	Edges    int           `json:"edges"`
	Selected int           `json:"selected"`
	After    time.Duration `json:"after_ns"`
}

// GraphJSON writes a happens-before view as one indented JSON document
// (see GraphDocument).
func GraphJSON(w io.Writer, v *hbgraph.View) error {
	g := v.Graph
	doc := GraphDocument{
		Schema: GraphSchema, Trace: g.Path, Warnings: g.Warnings,
		Goroutines: []GraphLane{}, Nodes: []GraphNode{}, Edges: []GraphEdge{},
	}
	for _, l := range v.Lanes {
		doc.Goroutines = append(doc.Goroutines, GraphLane{Goroutine: l.G, Entry: l.Entry, Nodes: l.Nodes})
		for _, id := range l.Nodes {
			n := g.Node(id)
			gn := GraphNode{
				ID: id, Goroutine: n.G, Kind: n.Kind.String(), Time: n.Time.Duration(),
				Label: g.Label(id), Reason: n.Reason, AtEnd: v.AtEnd[id],
			}
			if loc, ok := g.Location(id); ok && loc.Func != "" {
				gn.Location = &loc
			}
			if n.Peer != parse.NoGoroutine {
				gn.Peer = &n.Peer
			}
			if n.Kind == hbgraph.NodeAnnotation {
				seq := n.Seq
				gn.Primitive, gn.Object, gn.Op, gn.Seq, gn.N = n.Prim.String(), n.Object, n.Op.String(), &seq, n.N
			}
			doc.Nodes = append(doc.Nodes, gn)
		}
	}
	for _, e := range v.Edges {
		ge := GraphEdge{From: e.From, To: e.To, Rule: e.Rule.Name(), Label: g.EdgeLabel(e), Object: e.Object, Cyclic: e.Cyclic}
		if e.Prim != wire.KindBad {
			ge.Primitive = e.Prim.String()
		}
		doc.Edges = append(doc.Edges, ge)
	}
	if c := v.Cut; c.Nodes > 0 {
		doc.Cut = &hbgraphCutDoc{Nodes: c.Nodes, Edges: c.Edges, Selected: c.Selected, After: c.After.Duration()}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // messages show "<-" and "->", not \u003c-
	return enc.Encode(doc)
}

// Ranks returns the number of columns Graphviz's dot needs to lay a view
// out left to right (the longest chain of nodes, following program order
// and the edges between goroutines) and the number of lanes (rows): what
// the drawing's width and height grow with.
func Ranks(v *hbgraph.View) (ranks, lanes int) {
	rank := make(map[hbgraph.NodeID]int, v.Len())
	succ := make(map[hbgraph.NodeID][]hbgraph.NodeID)
	indeg := make(map[hbgraph.NodeID]int, v.Len())
	for _, l := range v.Lanes {
		for i, id := range l.Nodes {
			indeg[id] += 0
			if i > 0 {
				succ[l.Nodes[i-1]] = append(succ[l.Nodes[i-1]], id)
				indeg[id]++
			}
		}
	}
	for _, e := range v.Edges {
		if !e.Cyclic {
			succ[e.From] = append(succ[e.From], e.To)
			indeg[e.To]++
		}
	}
	var queue []hbgraph.NodeID
	for _, l := range v.Lanes {
		for _, id := range l.Nodes {
			if indeg[id] == 0 {
				queue = append(queue, id)
				rank[id] = 1
			}
		}
	}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		ranks = max(ranks, rank[id])
		for _, s := range succ[id] {
			rank[s] = max(rank[s], rank[id]+1)
			if indeg[s]--; indeg[s] == 0 {
				queue = append(queue, s)
			}
		}
	}
	return ranks, len(v.Lanes)
}
