package report_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/parse"
	"github.com/blockscope/blockscope/report"
)

// htmlPage analyzes a trace with a Timeline of those limits in the same
// pass and returns the HTML page.
func htmlPage(t *testing.T, path string, lim report.TimelineLimits, edit func(*report.Analysis)) []byte {
	t.Helper()
	tl := report.NewTimeline(lim)
	res, err := detect.Run(path, parse.Options{}, nil, tl)
	if err != nil {
		t.Fatal(err)
	}
	a := report.FromResult(res)
	tl.AddTo(a)
	if edit != nil {
		edit(a)
	}
	var b bytes.Buffer
	if err := report.HTML(&b, a); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var dataScript = regexp.MustCompile(`(?s)<script type="application/json" id="blockscope-data">(.*?)</script>`)

// pageData returns the JSON document embedded in an HTML page.
func pageData(t *testing.T, html []byte) []byte {
	t.Helper()
	m := dataScript.FindSubmatch(html)
	if m == nil {
		t.Fatalf("the page has no data script:\n%.2000s", html)
	}
	return m[1]
}

// pageDoc is the part of the page's document the tests read.
type pageDoc struct {
	Findings  []report.Finding `json:"findings"`
	Timelines []pageTrace      `json:"timelines"`
}

type pageTrace struct {
	Timeline struct {
		End    int64 `json:"end_ns"`
		Groups []struct {
			Site       string `json:"site"`
			Stuck      bool   `json:"stuck"`
			Goroutines int    `json:"goroutines"`
			Lanes      []struct {
				G      int64     `json:"g"`
				Shared int       `json:"shared"`
				Stuck  string    `json:"stuck"`
				Iv     [][]int64 `json:"iv"`
				Marks  [][]int64 `json:"marks"`
			} `json:"lanes"`
		} `json:"groups"`
		Stacks [][]int `json:"stacks"`
	} `json:"timeline"`
	Locks []struct {
		Name    string `json:"name"`
		Waits   int    `json:"waits"`
		Over    int    `json:"over_1ms"`
		Hist    []int  `json:"hist"`
		Holders []struct {
			Goroutine int64 `json:"goroutine"`
		} `json:"holders"`
	} `json:"locks"`
	Semaphores []struct {
		Max    int        `json:"max_depth"`
		Points [][2]int64 `json:"points"`
	} `json:"semaphores"`
	Flights []struct {
		Flights [][5]int64 `json:"flights"`
	} `json:"singleflight"`
	LeftOut []string `json:"left_out"`
}

// decodePage returns the findings and the one trace's timeline.
func decodePage(t *testing.T, html []byte) pageView {
	t.Helper()
	var doc pageDoc
	if err := json.Unmarshal(pageData(t, html), &doc); err != nil {
		t.Fatalf("the page's data is not JSON: %v", err)
	}
	if len(doc.Timelines) != 1 {
		t.Fatalf("the page has %d timelines; want 1", len(doc.Timelines))
	}
	return pageView{doc.Findings, doc.Timelines[0]}
}

type pageView struct {
	Findings []report.Finding
	pageTrace
}

func fixtureTrace(name string) string {
	return filepath.Join("..", "fixtures", name, "testdata", "go126.trace")
}

// TestHTMLGolden compares the data each fixture's page draws from with
// testdata/html/NAME.json (go test -update rewrites them).
func TestHTMLGolden(t *testing.T) {
	for _, name := range []string{"leak-timeout", "mutex-starve-annotated", "mutex-starve-plain", "sema-backlog-annotated", "sf-herd-annotated"} {
		t.Run(name, func(t *testing.T) {
			page := htmlPage(t, fixtureTrace(name), report.DefaultTimelineLimits(), nil)
			// The findings are the JSON report's, golden-tested with it:
			// here only what ties them to the timeline is kept, so that a
			// detector's new wording does not change these files.
			var doc map[string]any
			if err := json.Unmarshal(pageData(t, page), &doc); err != nil {
				t.Fatal(err)
			}
			for _, f := range doc["findings"].([]any) {
				f := f.(map[string]any)
				for k := range f {
					if k != "kind" && k != "severity" && k != "goroutines" && k != "traces" {
						delete(f, k)
					}
				}
			}
			delete(doc, "traces") // the JSON report's, golden-tested with it
			b, err := json.MarshalIndent(doc, "", " ")
			if err != nil {
				t.Fatal(err)
			}
			got := bytes.NewBuffer(append(b, '\n'))
			golden := filepath.Join("testdata", "html", name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -update writes it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				g, w := strings.Split(got.String(), "\n"), strings.Split(string(want), "\n")
				i := 0
				for i < min(len(g), len(w)) && g[i] == w[i] {
					i++
				}
				t.Errorf("the page data of %s differs from %s from line %d (go test -update rewrites it):\ngot:  %s\nwant: %s", name, golden, i+1, line(g, i), line(w, i))
			}
		})
	}
}

func line(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return "(end of file)"
}

// TestHTMLDraws checks what the fixtures' pages must show, whatever the
// golden files say.
func TestHTMLDraws(t *testing.T) {
	t.Run("leak", func(t *testing.T) {
		doc := decodePage(t, htmlPage(t, fixtureTrace("leak-timeout"), report.DefaultTimelineLimits(), nil))
		if len(doc.Findings) == 0 || doc.Findings[0].Kind != "leak" {
			t.Fatalf("findings = %+v; want the leak", doc.Findings)
		}
		g := doc.Timeline.Groups[0]
		if !g.Stuck {
			t.Fatalf("first group = %q; want the stuck goroutines pinned on top", g.Site)
		}
		for _, id := range doc.Findings[0].Goroutines {
			found := false
			for _, l := range g.Lanes {
				if l.G == int64(id) {
					found = true
					last := l.Iv[len(l.Iv)-1]
					if l.Stuck != "leak" || len(last) != 8 || last[5] != 1 || last[1] != doc.Timeline.End {
						t.Errorf("lane of G%d: stuck %q, last interval %v; want a leak whose last block is open until the end (%d)", id, l.Stuck, last, doc.Timeline.End)
					}
				}
			}
			if !found {
				t.Errorf("leaked goroutine %d has no pinned lane", id)
			}
		}
	})
	t.Run("deadlock", func(t *testing.T) {
		for _, name := range []string{"deadlock-abba", "deadlock-philosophers"} {
			doc := decodePage(t, htmlPage(t, fixtureTrace(name), report.DefaultTimelineLimits(), nil))
			var want []int64
			for _, f := range doc.Findings {
				if f.Kind == "deadlock" {
					for _, g := range f.Goroutines {
						want = append(want, int64(g))
					}
				}
			}
			if len(want) == 0 {
				t.Fatalf("%s: no deadlock finding", name)
			}
			g := doc.Timeline.Groups[0]
			pinned := map[int64]string{}
			for _, l := range g.Lanes {
				pinned[l.G] = l.Stuck
			}
			for _, id := range want {
				if !g.Stuck || pinned[id] != "deadlock" {
					t.Errorf("%s: deadlocked G%d pinned as %q in group %q; want it on top as deadlock", name, id, pinned[id], g.Site)
				}
			}
		}
	})
	t.Run("lock", func(t *testing.T) {
		for _, name := range []string{"mutex-starve-annotated", "mutex-starve-plain"} {
			doc := decodePage(t, htmlPage(t, fixtureTrace(name), report.DefaultTimelineLimits(), nil))
			if len(doc.Locks) == 0 {
				t.Fatalf("%s: no lock panel", name)
			}
			l := doc.Locks[0]
			sum := 0
			for _, c := range l.Hist {
				sum += c
			}
			// The fixture's finding counts the waits over 1 ms, as the panel does.
			if sum != l.Waits || l.Over < 10 || len(l.Holders) == 0 {
				t.Errorf("%s: lock %q: %d waits, histogram sums to %d, %d over 1ms, %d holders; want ≥10 waits over 1ms and a holder blamed", name, l.Name, l.Waits, sum, l.Over, len(l.Holders))
			}
		}
	})
	t.Run("semaphore", func(t *testing.T) {
		doc := decodePage(t, htmlPage(t, fixtureTrace("sema-backlog-annotated"), report.DefaultTimelineLimits(), nil))
		// The detector's finding says the queue built up to 48 waiters.
		if len(doc.Semaphores) == 0 || doc.Semaphores[0].Max != 48 {
			t.Fatalf("semaphores = %+v; want a queue up to 48", doc.Semaphores)
		}
		if p := doc.Semaphores[0].Points; p[len(p)-1][1] != 0 {
			t.Errorf("the queue ends at depth %d; want it drained", p[len(p)-1][1])
		}
	})
	t.Run("singleflight", func(t *testing.T) {
		doc := decodePage(t, htmlPage(t, fixtureTrace("sf-herd-annotated"), report.DefaultTimelineLimits(), nil))
		// The detector's finding says a flight had 39 followers.
		most := int64(0)
		for _, k := range doc.Flights {
			for _, f := range k.Flights {
				most = max(most, f[3])
			}
		}
		if most != 39 {
			t.Errorf("largest fan-in = %d; want 39", most)
		}
	})
}

// TestHTMLLimits runs a many-goroutine fixture through tiny limits: the
// page keeps to them, the stuck goroutines keep their lanes, and the page
// says what it left out.
func TestHTMLLimits(t *testing.T) {
	lim := report.TimelineLimits{Lanes: 5, Intervals: 40, Marks: 10, Stacks: 4, Pixels: 100, Points: 8, Flights: 2}
	for _, name := range []string{"sema-backlog-annotated", "sf-herd-annotated", "leak-timeout"} {
		t.Run(name, func(t *testing.T) {
			doc := decodePage(t, htmlPage(t, fixtureTrace(name), lim, nil))
			own, intervals, marks := 0, 0, 0
			for _, g := range doc.Timeline.Groups {
				for _, l := range g.Lanes {
					if l.G >= 0 && !g.Stuck {
						own++
					}
					intervals += len(l.Iv)
					marks += len(l.Marks)
				}
			}
			if own > lim.Lanes || intervals > lim.Intervals+lim.Lanes || marks > lim.Marks || len(doc.Timeline.Stacks) > lim.Stacks {
				t.Errorf("%d lanes, %d intervals, %d marks, %d stacks; limits %+v", own, intervals, marks, len(doc.Timeline.Stacks), lim)
			}
			for _, s := range doc.Semaphores {
				if len(s.Points) > lim.Points {
					t.Errorf("%d depth points; limit %d", len(s.Points), lim.Points)
				}
			}
			for _, f := range doc.Flights {
				if len(f.Flights) > lim.Flights {
					t.Errorf("%d flights; limit %d", len(f.Flights), lim.Flights)
				}
			}
			if name == "leak-timeout" {
				stuck := doc.Timeline.Groups[0]
				if !stuck.Stuck || len(stuck.Lanes) != len(doc.Findings[0].Goroutines) {
					t.Errorf("stuck group %q has %d lanes; want one per leaked goroutine (%v)", stuck.Site, len(stuck.Lanes), doc.Findings[0].Goroutines)
				}
			}
			if name != "leak-timeout" && len(doc.LeftOut) == 0 {
				t.Errorf("the page does not say what it left out")
			}
			if name == "sema-backlog-annotated" {
				text := strings.Join(doc.LeftOut, "\n")
				for _, want := range []string{"drawn together, one lane per creation site", "merged", "not drawn as marks", "no stack"} {
					if !strings.Contains(text, want) {
						t.Errorf("left_out does not say %q:\n%s", want, text)
					}
				}
			}
		})
	}
}

// TestHTMLSelfContained checks that the page loads nothing and that text
// from the trace cannot end its script.
func TestHTMLSelfContained(t *testing.T) {
	evil := "</script><script>alert(1)</script> & <b>"
	page := htmlPage(t, fixtureTrace("leak-timeout"), report.DefaultTimelineLimits(), func(a *report.Analysis) {
		a.Findings[0].Message = evil
	})
	if bytes.Contains(page, []byte("<script>alert(1)")) {
		t.Errorf("a finding's message ends the page's script")
	}
	// The SVG namespace is a name, not a request.
	scan := bytes.ReplaceAll(page, []byte("'http://www.w3.org/2000/svg'"), nil)
	if m := regexp.MustCompile(`(?i)<[^>]*\s(src|href)\s*=|@import|url\(|https?://`).Find(scan); m != nil {
		t.Errorf("the page refers to something outside it: %q", m)
	}
	if !bytes.Contains(page, []byte("Content-Security-Policy")) {
		t.Errorf("the page has no Content-Security-Policy forbidding requests")
	}
	doc := decodePage(t, page)
	if doc.Findings[0].Message != evil {
		t.Errorf("message round-trip = %q; want %q", doc.Findings[0].Message, evil)
	}
}

// TestHTMLTwoTraces checks a page of two traces: a timeline each, and the
// leak's goroutines pinned only on the timeline of the trace that leaked.
func TestHTMLTwoTraces(t *testing.T) {
	var as []*report.Analysis
	var tls []*report.Timeline
	for _, name := range []string{"mutex-starve-plain", "leak-timeout"} {
		tl := report.NewTimeline(report.DefaultTimelineLimits())
		res, err := detect.Run(fixtureTrace(name), parse.Options{}, nil, tl)
		if err != nil {
			t.Fatal(err)
		}
		as = append(as, report.FromResult(res))
		tls = append(tls, tl)
	}
	a := report.Merge(as...)
	for _, tl := range tls {
		tl.AddTo(a)
	}
	var b bytes.Buffer
	if err := report.HTML(&b, a); err != nil {
		t.Fatal(err)
	}
	var doc pageDoc
	if err := json.Unmarshal(pageData(t, b.Bytes()), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Timelines) != 2 {
		t.Fatalf("%d timelines; want one per trace", len(doc.Timelines))
	}
	stuck := func(i int) bool {
		gs := doc.Timelines[i].Timeline.Groups
		return len(gs) > 0 && gs[0].Stuck
	}
	if stuck(0) || !stuck(1) {
		t.Errorf("stuck lanes pinned: trace 0 %v, trace 1 %v; want only the leaking trace (1)", stuck(0), stuck(1))
	}
	if len(doc.Timelines[0].Locks) == 0 || len(doc.Timelines[1].Locks) != 0 {
		t.Errorf("lock panels: %d and %d; want the contended mutex on the first trace only", len(doc.Timelines[0].Locks), len(doc.Timelines[1].Locks))
	}
}

// TestHTMLWithoutTimelines checks the page of an analysis with no
// timeline, as merged from JSON reports: the findings alone.
func TestHTMLWithoutTimelines(t *testing.T) {
	res, err := detect.Run(fixtureTrace("leak-timeout"), parse.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := report.HTML(&b, report.FromResult(res)); err != nil {
		t.Fatal(err)
	}
	var doc pageDoc
	if err := json.Unmarshal(pageData(t, b.Bytes()), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Findings) != 1 || len(doc.Timelines) != 0 {
		t.Errorf("%d findings, %d timelines; want the leak and no timeline", len(doc.Findings), len(doc.Timelines))
	}
}

// BenchmarkTimeline measures what the HTML report's gatherer adds to a
// pass over a trace: compare parse with parse+timeline (and go run
// ./internal/tracebench for a 100 MB trace).
func BenchmarkTimeline(b *testing.B) {
	path := fixtureTrace("sema-backlog-annotated")
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parse.File(path, parse.Options{DropBlocks: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parse+timeline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parse.File(path, parse.Options{DropBlocks: true}, report.NewTimeline(report.DefaultTimelineLimits())); err != nil {
				b.Fatal(err)
			}
		}
	})
}
