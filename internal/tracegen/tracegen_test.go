package tracegen_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/internal/tracegen"
	"github.com/blockscope/blockscope/parse"
)

// TestRecord records a small trace and checks that it is what the
// benchmark needs: about the size asked for, many short-lived goroutines,
// both annotated and plain primitives, and the leaks Record says it left,
// found by the leak detector at the helper's send.
func TestRecord(t *testing.T) {
	if testing.Short() {
		t.Skip("records a trace for a second or so")
	}
	const size = 2 << 20
	var buf bytes.Buffer
	st, err := tracegen.Record(&buf, size)
	if err != nil {
		t.Fatal(err)
	}
	if st.Bytes != int64(buf.Len()) || st.Bytes < size {
		t.Errorf("Record wrote %d bytes, says %d; want at least %d", buf.Len(), st.Bytes, size)
	}
	path := filepath.Join(t.TempDir(), "gen.trace")
	if err := os.WriteFile(path, buf.Bytes(), 0o666); err != nil {
		t.Fatal(err)
	}
	res, err := detect.Run(path, parse.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	created, exited, _ := res.Trace.Counts()
	if created < 1000 || exited < created*9/10 {
		t.Errorf("created %d goroutines, %d exited; want many, nearly all short-lived", created, exited)
	}
	if res.Trace.Annotations == 0 {
		t.Errorf("no annotations: the workload must use blockscope's primitives")
	}
	leaked := 0
	for _, f := range res.Findings {
		if f.Kind == "leak" && f.Location.Func == "github.com/blockscope/blockscope/internal/tracegen.(*server).fanOut.func1" {
			leaked += len(f.Goroutines)
		}
	}
	if st.Leaked == 0 || leaked != st.Leaked {
		t.Errorf("leak findings name %d goroutines in fanOut's helper; Record leaked %d (want > 0, equal)", leaked, st.Leaked)
	}
}
