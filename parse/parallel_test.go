package parse

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/blockscope/blockscope/internal/corpus"
)

// recorder writes down every event a consumer sees.
type recorder struct{ b bytes.Buffer }

func (r *recorder) Event(t *Trace, ev *Event) {
	fmt.Fprintf(&r.b, "%+v\n", *ev)
}

func (r *recorder) Finalize(t *Trace) {
	created, exited, waiting := t.Counts()
	fmt.Fprintf(&r.b, "end %d %d %d %d %d %d %d %v\n", t.Events, t.Start, t.End, t.NumGoroutines(), created, exited, waiting, t.BlockedByReason)
}

// TestParallelSameEvents reads multi-generation traces serially and in
// parallel and checks that consumers see the same events, in the same
// order, and the same model at the end; and that a trace cut short is
// read as far, with the same error, either way.
func TestParallelSameEvents(t *testing.T) {
	var files []string
	files = append(files, corpus.Files(t, "go126", "*.trace")...)
	files = append(files, corpus.Files(t, "goker", "*.trace")...)
	parallel := 0
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		pieces, ok := splitGenerations(bytes.NewReader(data), int64(len(data)), v2Minor("1.26"))
		if !ok {
			continue // one generation: read serially anyway
		}
		parallel++
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			if pieces[0].off != 16 || pieces[len(pieces)-1].end != int64(len(data)) {
				t.Fatalf("pieces %v do not cover the file (%d bytes)", pieces, len(data))
			}
			cut := data[:pieces[len(pieces)/2].off+(pieces[len(pieces)/2].end-pieces[len(pieces)/2].off)/2]
			for _, in := range [][]byte{data, cut} {
				var serial, par recorder
				_, serr := Parse(bytes.NewReader(in), Options{DropBlocks: true, Jobs: 1}, &serial)
				_, perr := Parse(bytes.NewReader(in), Options{DropBlocks: true, Jobs: 3}, &par)
				if fmt.Sprint(serr) != fmt.Sprint(perr) {
					t.Errorf("%d bytes: error %v serially, %v in parallel", len(in), serr, perr)
				}
				if s, p := serial.b.String(), par.b.String(); s != p {
					t.Errorf("%d bytes: events differ (%d bytes serially, %d in parallel)", len(in), len(s), len(p))
				}
			}
		})
	}
	if parallel == 0 {
		t.Skip("no trace of more than one generation")
	}
}
