package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blockscope/blockscope/internal/cli"
	"github.com/blockscope/blockscope/internal/corpus"
)

// run calls cli.Main with args and returns its exit code and output.
func run(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = cli.Main(args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// document is the part of the JSON report these tests read; the fields are
// pointers so that a missing one shows.
type document struct {
	Schema *int `json:"schema"`
	Trace  *struct {
		Path     *string `json:"path"`
		Complete *bool   `json:"complete"`
		Error    string  `json:"error"`
		Events   *int    `json:"events"`
	} `json:"trace"`
	Findings []struct {
		Kind       *string    `json:"kind"`
		Severity   *string    `json:"severity"`
		Confidence *string    `json:"confidence"`
		Message    *string    `json:"message"`
		Goroutines []int64    `json:"goroutines"`
		Location   *jsonFrame `json:"location"`
		Stack      []jsonFrame
		Evidence   *string `json:"evidence"`
	} `json:"findings"`
}

type jsonFrame struct {
	Func *string `json:"func"`
	File *string `json:"file"`
	Line *int    `json:"line"`
}

func (f *jsonFrame) complete() bool {
	return f != nil && f.Func != nil && *f.Func != "" && f.File != nil && *f.File != "" && f.Line != nil && *f.Line > 0
}

// readDocument decodes a JSON report, failing on anything but one valid
// document with the fields every report has.
func readDocument(t *testing.T, out string) document {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	var doc document
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	if dec.More() {
		t.Errorf("more than one JSON document in the report")
	}
	if doc.Schema == nil || *doc.Schema != 1 || doc.Trace == nil || doc.Trace.Complete == nil || doc.Trace.Path == nil || doc.Trace.Events == nil || doc.Findings == nil {
		t.Fatalf("report lacks schema 1, trace.{path,complete,events} or findings:\n%s", out)
	}
	return doc
}

// TestJSONReport checks the JSON report's fields on a trace with leaks.
func TestJSONReport(t *testing.T) {
	path := filepath.Join("..", "..", "parse", "testdata", "blocked.trace")
	code, out, errOut := run("analyze", "--format", "json", path)
	if code != cli.ExitOK || errOut != "" {
		t.Fatalf("analyze --format json = %d, stderr %q; want %d, none", code, errOut, cli.ExitOK)
	}
	doc := readDocument(t, out)
	if !*doc.Trace.Complete || *doc.Trace.Path != path || doc.Trace.Error != "" {
		t.Errorf("trace.complete, path, error = %v, %q, %q; want true, %q, none", *doc.Trace.Complete, *doc.Trace.Path, doc.Trace.Error, path)
	}
	leaks := 0
	for i, f := range doc.Findings {
		if f.Kind == nil || f.Severity == nil || f.Message == nil || f.Evidence == nil {
			t.Errorf("finding %d lacks kind, severity, message or evidence: %+v", i, f)
			continue
		}
		if *f.Kind == "leak" {
			leaks++
			if f.Confidence == nil {
				t.Errorf("leak finding %d lacks a confidence", i)
			} else if sev, conf := *f.Severity, *f.Confidence; !(sev == "error" && conf == "no-waker-alive" || sev == "warning" && conf == "blocked-at-end") {
				t.Errorf("finding %d: severity %q with confidence %q", i, sev, conf)
			}
		}
		if len(f.Goroutines) == 0 || !f.Location.complete() || len(f.Stack) == 0 {
			t.Errorf("finding %d: goroutines %v, location %+v, %d frames; want ids, a whole location, a stack", i, f.Goroutines, f.Location, len(f.Stack))
		}
		for _, fr := range f.Stack {
			if !fr.complete() {
				t.Errorf("finding %d: stack frame %+v lacks func, file or line", i, fr)
			}
		}
		if *f.Evidence != "runtime" {
			t.Errorf("finding %d: evidence %q; want runtime", i, *f.Evidence)
		}
	}
	if leaks < 10 {
		t.Errorf("%d leak findings; want the 10 leaks of blocked.trace at least", leaks)
	}
}

// TestCorpusGoodCLI analyzes every good trace of the corpus with every
// detector gating: exit 0 or 1, a whole trace, valid JSON.
func TestCorpusGoodCLI(t *testing.T) {
	var files []string
	files = append(files, corpus.Files(t, "v1", "*_good")...)
	files = append(files, corpus.Files(t, "go126", "*.trace")...)
	files = append(files, corpus.Files(t, "bad", "gzipped.trace.gz")...)
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			if testing.Short() && strings.Contains(path, "stdlib-") {
				t.Skip("large trace, -short")
			}
			code, out, errOut := run("analyze", "--format", "json", "--fail-on", "all", path)
			if code != cli.ExitOK && code != cli.ExitFindings {
				t.Fatalf("analyze = %d, stderr %q; want 0 or 1", code, errOut)
			}
			doc := readDocument(t, out)
			if !*doc.Trace.Complete || *doc.Trace.Events == 0 {
				t.Errorf("trace.complete, events = %v, %d; want true, > 0", *doc.Trace.Complete, *doc.Trace.Events)
			}
			if (code == cli.ExitFindings) != (len(doc.Findings) > 0) {
				t.Errorf("exit %d with %d findings and --fail-on all", code, len(doc.Findings))
			}
			if code, out, _ := run("analyze", path); code != cli.ExitOK || !strings.Contains(out, "Trace "+path) {
				t.Errorf("analyze (text) = %d; want 0 and a report", code)
			}
		})
	}
}

// TestCorpusBadCLI checks that every damaged or foreign input of the corpus
// gets exit 2 and one line that names the file and the problem, and that
// the gzip-compressed trace is read.
func TestCorpusBadCLI(t *testing.T) {
	for _, path := range corpus.Files(t, "bad", "*") {
		t.Run(filepath.Base(path), func(t *testing.T) {
			for _, format := range []string{"text", "json"} {
				code, out, errOut := run("analyze", "--format", format, path)
				if filepath.Base(path) == "gzipped.trace.gz" {
					if code != cli.ExitOK || errOut != "" {
						t.Errorf("analyze --format %s = %d, stderr %q; want 0, none", format, code, errOut)
					}
					continue
				}
				if code != cli.ExitUsage {
					t.Errorf("analyze --format %s = %d; want %d", format, code, cli.ExitUsage)
				}
				switch {
				case format == "json" && !strings.Contains(out, `"error": {`):
					t.Errorf("analyze --format json: stdout %q; want the JSON error document", out)
				case format == "text" && out != "":
					t.Errorf("analyze --format %s printed a report for input it could not read:\n%s", format, out)
				}
				line := strings.TrimSuffix(errOut, "\n")
				if strings.Contains(line, "\n") || !strings.HasPrefix(line, "blockscope: "+path+": ") || len(line) > 300 {
					t.Errorf("analyze --format %s: stderr %q; want one short line naming the file", format, errOut)
				}
				if strings.Contains(errOut, "panic") || strings.Contains(errOut, "goroutine ") {
					t.Errorf("stderr looks like a crash: %q", errOut)
				}
			}
		})
	}
}

// TestDamagedCLI checks a trace whose later generations are damaged: the
// report of what was read, marked incomplete in text and JSON, exit 2
// without --allow-incomplete, 0 or 1 with it.
func TestDamagedCLI(t *testing.T) {
	src := corpus.Files(t, "go126", "xsync-semaphore.trace")[0]
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	n := len(data)
	zero := bytes.Clone(data)
	clear(zero[n*9/10:])
	flip := bytes.Clone(data)
	for i := n * 9 / 10; i < n; i += 97 {
		flip[i] ^= 0xff
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"truncated-60", data[:n*6/10]},
		{"truncated-95", data[:n*95/100]},
		{"zeroed-tail", zero},
		{"flipped", flip},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".trace")
			if err := os.WriteFile(path, tc.data, 0o666); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := run("analyze", path)
			if code != cli.ExitUsage {
				t.Errorf("analyze = %d; want %d", code, cli.ExitUsage)
			}
			if !strings.Contains(out, "\nWARNING: the trace was not read whole ("+path+": ") || !strings.Contains(out, "Trace "+path) {
				t.Errorf("text report lacks the summary or the WARNING line:\n%s", out)
			}
			if line := strings.TrimSuffix(errOut, "\n"); strings.Contains(line, "\n") || !strings.HasPrefix(line, "blockscope: "+path+": ") || !strings.Contains(line, "--allow-incomplete") {
				t.Errorf("stderr %q; want one line naming the file and --allow-incomplete", errOut)
			}

			code, out, _ = run("analyze", "--format", "json", path)
			doc := readDocument(t, out)
			if code != cli.ExitUsage || *doc.Trace.Complete || !strings.HasPrefix(doc.Trace.Error, path+": ") || *doc.Trace.Events == 0 {
				t.Errorf("JSON: exit %d, complete %v, error %q, events %d; want %d, false, the error, > 0", code, *doc.Trace.Complete, doc.Trace.Error, *doc.Trace.Events, cli.ExitUsage)
			}

			code, out, errOut = run("analyze", "--allow-incomplete", "--fail-on", "all", path)
			if code != cli.ExitOK && code != cli.ExitFindings {
				t.Errorf("analyze --allow-incomplete = %d; want 0 or 1", code)
			}
			if !strings.Contains(out, "WARNING: the trace was not read whole") || !strings.HasPrefix(errOut, "blockscope: warning: "+path+": ") {
				t.Errorf("--allow-incomplete: the report or stderr %q lacks the warning", errOut)
			}
		})
	}
}
