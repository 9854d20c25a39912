// Package corpus finds the shared trace corpus for tests and benchmarks:
// real traces of Go 1.11–1.26, real programs' traces and known-bad files
// (see its README). It lives beside the repository, not in it, so tests
// that need it skip, saying why, where it is absent (a user's clone).
package corpus

import (
	"os"
	"path/filepath"
	"testing"
)

// Find returns the corpus folder: $BLOCKSCOPE_CORPUS, or shared/corpus in
// the nearest directory above the working directory that has one
// (../shared/corpus beside the repository).
func Find() (string, bool) {
	if dir := os.Getenv("BLOCKSCOPE_CORPUS"); dir != "" {
		return dir, true
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		c := filepath.Join(dir, "shared", "corpus")
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// Dir returns the corpus folder sub, skipping t where there is no corpus.
func Dir(t testing.TB, sub string) string {
	t.Helper()
	dir, ok := Find()
	if !ok {
		t.Skip("no shared/corpus folder above the repository (set BLOCKSCOPE_CORPUS to use one): skipping the corpus tests")
	}
	return filepath.Join(dir, sub)
}

// Files returns the files matching pattern in the corpus folder sub,
// skipping t where there is no corpus and failing it where the corpus has
// no such file.
func Files(t testing.TB, sub, pattern string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(Dir(t, sub), pattern))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no %s in the corpus folder %s", pattern, sub)
	}
	return files
}

// File returns the corpus file sub/name, skipping t where it is absent.
func File(t testing.TB, sub, name string) string {
	t.Helper()
	path := filepath.Join(Dir(t, sub), name)
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no corpus trace %s/%s: %v", sub, name, err)
	}
	return path
}
