package cli

import (
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progressMin is the input size from which a progress bar is drawn: a
// smaller trace is read before a bar would be seen.
var progressMin int64 = 4 << 20

// barTerminal reports whether the bar's writer is a terminal (a variable
// for tests).
var barTerminal = isTerminal

// progress is a bar on standard error of the bytes read of every trace
// file, for inputs over progressMin when standard error is a terminal:
// never for standard input (its size is unknown), when piped, or with
// --quiet.
type progress struct {
	bar  *progressbar.ProgressBar
	mu   sync.Mutex
	read map[int]int64 // bytes read, per trace
	sum  int64
}

// newProgress returns nil when no bar is to be drawn.
func newProgress(stderr io.Writer, paths []string, quiet bool) *progress {
	if quiet || !barTerminal(stderr) {
		return nil
	}
	var total int64
	for _, path := range paths {
		if path == "-" {
			return nil
		}
		if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
			total += st.Size()
		}
	}
	if total < progressMin {
		return nil
	}
	desc := "reading trace"
	if len(paths) > 1 {
		desc = "reading traces"
	}
	return &progress{
		read: map[int]int64{},
		bar: progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(stderr),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionShowBytes(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		),
	}
}

// of returns the parse.Options.Progress callback of the i-th trace (nil
// for no bar).
func (p *progress) of(i int) func(int64) {
	if p == nil {
		return nil
	}
	return func(n int64) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if n <= p.read[i] {
			return
		}
		p.sum += n - p.read[i]
		p.read[i] = n
		p.bar.Set64(p.sum)
	}
}

// done clears the bar before the report is written.
func (p *progress) done() {
	if p != nil {
		p.bar.Finish()
	}
}
