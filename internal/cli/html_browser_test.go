package cli_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/blockscope/blockscope/internal/cli"
)

var screenshot = flag.String("screenshot", filepath.Join(os.TempDir(), "blockscope-demo-report.png"), "where TestHTMLInBrowser writes its screenshot of the demo's page")

// chromium returns the path of a Chromium (or Chrome) executable, or "".
func chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestHTMLInBrowser opens the demo's HTML report in headless Chromium: it
// loads with no console error and no network request, shows the leak
// finding, the timeline has the leaked goroutine's lane, clicking the
// finding's "Show on timeline" scrolls to that lane and selects it,
// hovering the leaked block shows its reason and stack, and the keyboard
// and ctrl+wheel zoom. It writes a screenshot (see -screenshot).
func TestHTMLInBrowser(t *testing.T) {
	exe := chromium()
	if exe == "" {
		t.Skip("no Chromium found (Debian: apt-get install chromium; .ci/run installs it): the HTML report's browser test is skipped")
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "demo.html")
	var out, errOut bytes.Buffer
	if code := cli.Main([]string{"demo", "--html=" + page}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("blockscope demo --html exited %d: %s", code, errOut.String())
	}

	ctx, checkProblems := openInBrowser(t, exe, page)
	leakMsg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.finding[data-kind="leak"] .msg`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(leakMsg, "blocked on chan send") {
		t.Errorf("the leak finding says %q; want the blocked send", leakMsg)
	}
	leaked, err := chromedp.Run(ctx, chromedp.Evaluate[int](`JSON.parse(document.getElementById('blockscope-data').textContent).findings.find(f => f.kind === 'leak').goroutines[0]`))
	if err != nil {
		t.Fatal(err)
	}
	// The leak's stack starts at the user's code; the frames inside it are
	// counted in a collapsed row.
	stack, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const s = document.querySelector('.finding[data-kind="leak"] .stack');
		const first = s && s.querySelector(':scope > div .fn');
		const inner = s && s.querySelector(':scope > details.inner > summary');
		return (first ? first.textContent : '') + '|' + (inner ? inner.textContent : '');
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if first, inner, _ := strings.Cut(stack, "|"); !strings.Contains(first, "internal/demo.") || !strings.Contains(inner, "inner frame") {
		t.Errorf("the leak's stack starts at %q, its hidden frames %q; want the demo's frame first, the runtime's counted", first, inner)
	}
	lane := fmt.Sprintf(`.row.lane[data-g="%d"]`, leaked)
	// Where the lane is: on the page's screen, and within the timeline's
	// scrolled list; the timeline section's top on screen.
	where := `(() => {
		const l = document.querySelector('` + lane + `');
		if (!l) return null;
		const r = l.getBoundingClientRect(), s = document.getElementById('tl-scroll').getBoundingClientRect();
		return {
			onScreen: r.top >= 0 && r.bottom <= window.innerHeight,
			inList: r.top >= s.top && r.bottom <= s.bottom,
			selected: l.classList.contains('selected'),
			stuck: l.classList.contains('stuck'),
			sectionTop: document.getElementById('timeline').getBoundingClientRect().top,
			x: s.left + 300 + (s.right - s.left - 300) * 0.6, y: (r.top + r.bottom) / 2,
		};
	})()`
	type place struct {
		OnScreen   bool    `json:"onScreen"`
		InList     bool    `json:"inList"`
		Selected   bool    `json:"selected"`
		Stuck      bool    `json:"stuck"`
		SectionTop float64 `json:"sectionTop"`
		X          float64 `json:"x"`
		Y          float64 `json:"y"`
	}
	before, err := chromedp.Run(ctx, chromedp.Evaluate[*place](where))
	if err != nil {
		t.Fatal(err)
	}
	if before == nil {
		t.Fatalf("the timeline has no lane for leaked goroutine %d", leaked)
	}
	if !before.Stuck || before.Selected {
		t.Errorf("before the click, G%d's lane: %+v; want it pinned as stuck, not selected", leaked, *before)
	}
	if before.OnScreen {
		t.Fatalf("G%d's lane is on screen before the click (%+v): the window is too tall for the test to mean anything", leaked, *before)
	}

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.finding[data-kind="leak"] button.goto`))); err != nil {
		t.Fatal(err)
	}
	after, err := chromedp.Run(ctx, chromedp.Evaluate[*place](where))
	if err != nil {
		t.Fatal(err)
	}
	if after == nil || !after.Selected || !after.OnScreen || !after.InList {
		t.Fatalf("after clicking the leak's Show on timeline, G%d's lane: %+v; want it selected, on screen, in the list", leaked, after)
	}
	if after.SectionTop < 0 || after.SectionTop > 150 {
		t.Errorf("after the click the timeline starts %.0fpx down the screen; want the page scrolled to it", after.SectionTop)
	}

	// Hovering the leaked block shows its reason, duration and stack.
	if err := chromedp.Do(ctx,
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, after.X, after.Y),
		chromedp.WaitVisible(chromedp.ID(`tooltip`)),
	); err != nil {
		t.Fatal(err)
	}
	tip, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(`tooltip`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(tip, "chan send") || !strings.Contains(tip, "still blocked at the end") || !strings.Contains(tip, "demo.go:") {
		t.Errorf("tooltip over the leaked block = %q; want its reason, that it never ended, and its stack", tip)
	}

	// The keyboard zooms (W) and goes back to the whole trace (0) once the
	// timeline has the focus; ctrl+wheel zooms out where the mouse is.
	span := func() float64 {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`document.getElementById('tl-frame').dataset.view.split(' ').map(Number)`))
		if err != nil || len(v) != 2 {
			t.Fatalf("the timeline's window: %v %v", v, err)
		}
		return v[1] - v[0]
	}
	zoomed := span()
	if err := chromedp.Do(ctx, chromedp.Focus(chromedp.ID(`tl-frame`)), chromedp.KeyEvent("w")); err != nil {
		t.Fatal(err)
	}
	if in := span(); in >= zoomed*0.9 {
		t.Errorf("W: the timeline shows %.0fns, was %.0fns; want it zoomed in", in, zoomed)
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent("0")); err != nil {
		t.Fatal(err)
	}
	// The whole trace, not more than the finding's view: that one may be
	// wider, padded around a block that spans most of the trace.
	end, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`JSON.parse(document.getElementById('blockscope-data').textContent).timelines[0].timeline.end_ns`))
	if err != nil {
		t.Fatal(err)
	}
	whole := span()
	if math.Abs(whole-end) > 1 {
		t.Errorf("0: the timeline shows %.0fns; want the whole trace, %.0fns", whole, end)
	}
	if err := chromedp.Do(ctx,
		chromedp.KeyEvent("w"), chromedp.KeyEvent("w"),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseWheel, after.X, after.Y, func(p *input.DispatchMouseEventParams) {
			p.DeltaX, p.DeltaY = 0.001, 400 // the protocol wants both; 0 would be left out
			p.Modifiers = 2                 // ctrl
		}),
	); err != nil {
		t.Fatal(err)
	}
	if out := span(); out <= whole*0.7*0.7*1.2 {
		t.Errorf("ctrl+wheel down: the timeline shows %.0fns; want it zoomed out from %.0fns", out, whole*0.7*0.7)
	}
	// Leave the finding's view for the screenshot.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`.finding[data-kind="leak"] button.goto`)),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, after.X, after.Y)); err != nil {
		t.Fatal(err)
	}

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(*screenshot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the demo's page: %s", *screenshot)

	checkProblems()
}

// openInBrowser loads the page in a new headless Chromium, 1280×640, and
// waits until its script has run. checkProblems reports, as test errors,
// any console error or warning, uncaught exception, browser log error and
// network request (the page's own load aside) seen so far.
func openInBrowser(t *testing.T, exe, page string) (ctx context.Context, checkProblems func()) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 640),
		chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)

	pageURL := (&url.URL{Scheme: "file", Path: page}).String()
	var mu sync.Mutex
	var problems []string
	problem := func(format string, args ...any) {
		mu.Lock()
		problems = append(problems, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	// The listener sees every event of the tab from its start.
	listen := chromedp.WithListener(func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				problem("console %s: %s", ev.Type, strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			desc := ""
			if d.Exception != nil {
				desc = d.Exception.Description
			}
			problem("uncaught exception: %s %s (line %d)", d.Text, desc, d.LineNumber)
		case *log.EventEntryAdded:
			if ev.Entry.Level == log.EntryLevelError || ev.Entry.Level == log.EntryLevelWarning {
				problem("browser log %s: %s %s", ev.Entry.Level, ev.Entry.Text, ev.Entry.URL)
			}
		case *network.EventRequestWillBeSent:
			if ev.Request.URL != pageURL {
				problem("network request: %s", ev.Request.URL)
			}
		}
	})
	ctx, cancel = chromedp.NewContext(actx, listen)
	t.Cleanup(cancel)
	// Generous: a browser starting on two busy cores can take a while.
	ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancel)

	if err := chromedp.Do(ctx,
		chromedp.Navigate(pageURL),
		chromedp.WaitReady(chromedp.CSS(`body[data-ready="1"]`)),
	); err != nil {
		t.Fatalf("loading %s: %v", page, err)
	}
	return ctx, func() {
		t.Helper()
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("%s", p)
		}
	}
}

// TestHTMLArrowsInBrowser opens the page of a trace of blockscope's
// annotated Mutex and selects the goroutine that held it: the timeline
// draws happens-before arrows from its unlocks to the next locks, and
// wake arrows, and the page shows no error.
func TestHTMLArrowsInBrowser(t *testing.T) {
	exe := chromium()
	if exe == "" {
		t.Skip("no Chromium found (Debian: apt-get install chromium; .ci/run installs it): the HTML report's browser test is skipped")
	}
	page := filepath.Join(t.TempDir(), "mutex.html")
	var out, errOut bytes.Buffer
	trace := filepath.Join("..", "..", "fixtures", "mutex-starve-annotated", "testdata", "go126.trace")
	if code := cli.Main([]string{"analyze", "--output", "html=" + page, trace}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("blockscope analyze --output html=... exited %d: %s", code, errOut.String())
	}
	ctx, checkProblems := openInBrowser(t, exe, page)
	// The finding names the goroutine that held the lock; its button
	// selects the finding's first goroutine, a lane then selects the holder.
	holder, err := chromedp.Run(ctx, chromedp.Evaluate[int](`JSON.parse(document.getElementById('blockscope-data').textContent).findings[0].related.find(r => r.role === 'holder').goroutine`))
	if err != nil {
		t.Fatalf("the mutex-wait finding names no holder: %v", err)
	}
	lane := chromedp.CSS(fmt.Sprintf(`.row.lane[data-g="%d"]`, holder))
	if err := chromedp.Do(ctx, chromedp.ScrollIntoView(lane), chromedp.Click(lane)); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(`tl-selection`)))
	if err != nil {
		t.Fatal(err)
	}
	var hb, wakes int
	_, arrows, _ := strings.Cut(text, "arrows: ")
	if _, err := fmt.Sscanf(arrows, "%d go statement, %d wake (dashed), %d happens-before", new(int), &wakes, &hb); err != nil {
		t.Fatalf("selection says %q: %v", text, err)
	}
	t.Logf("G%d selected: %s", holder, text)
	// The holder unlocked the Mutex many times, each before a waiter's Lock.
	if hb < 5 || wakes < 1 {
		t.Errorf("G%d selected: %d happens-before and %d wake arrows (%q); want its unlock→lock edges and the wakes", holder, hb, wakes, text)
	}
	checkProblems()
}
