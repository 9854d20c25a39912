package parse_test

import (
	"os"
	"sync/atomic"
	"testing"

	"github.com/blockscope/blockscope/parse"
)

// TestProgress: File reports the bytes it has read, up to the file's size,
// whether it decodes serially or in parallel.
func TestProgress(t *testing.T) {
	const path = "testdata/blocked.trace"
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, jobs := range []int{1, 4} {
		var last, calls atomic.Int64
		opts := parse.Options{Jobs: jobs, Progress: func(n int64) {
			for old := last.Load(); n > old && !last.CompareAndSwap(old, n); old = last.Load() {
			}
			calls.Add(1)
		}}
		if _, err := parse.File(path, opts); err != nil {
			t.Fatal(err)
		}
		if last.Load() < st.Size() || calls.Load() == 0 {
			t.Errorf("jobs %d: progress ended at %d bytes after %d calls; want the file's %d", jobs, last.Load(), calls.Load(), st.Size())
		}
	}
}
