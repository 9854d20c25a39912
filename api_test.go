package blockscope_test

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestDropInAPI checks that each primitives package declares every
// exported function, method, type, constant and variable of the package it
// stands in for, with the same signature: a program whose import path is
// swapped must compile.
func TestDropInAPI(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	for orig, ours := range map[string]string{
		"sync":                           "./primitives/sync",
		"golang.org/x/sync/semaphore":    "./primitives/semaphore",
		"golang.org/x/sync/singleflight": "./primitives/singleflight",
		"golang.org/x/sync/errgroup":     "./primitives/errgroup",
	} {
		want := declarations(t, orig)
		if len(want) == 0 {
			t.Fatalf("go doc %s: no declarations", orig)
		}
		got := declarations(t, ours)
		for d := range want {
			if !got[d] && !aliased(got, d) {
				t.Errorf("%s lacks %s's %s", ours, orig, d)
			}
		}
	}
}

var declLine = regexp.MustCompile(`^(func|type|const|var) `)

// declarations returns a package's exported declarations as go doc -all
// prints them, one line each, with the package qualifier of its own
// names dropped.
func declarations(t *testing.T, pkg string) map[string]bool {
	t.Helper()
	out, err := exec.Command("go", "doc", "-all", pkg).Output()
	if err != nil {
		t.Fatalf("go doc -all %s: %v", pkg, err)
	}
	name := pkg[strings.LastIndexByte(pkg, '/')+1:]
	decls := make(map[string]bool)
	for _, line := range strings.Split(string(out), "\n") {
		if !declLine.MatchString(line) {
			continue
		}
		line = strings.ReplaceAll(line, name+".", "")
		line = strings.TrimSuffix(strings.TrimSuffix(line, " ... }"), "{")
		decls[strings.TrimSpace(line)] = true
	}
	return decls
}

// aliased reports whether a declaration is met by an alias of the
// standard type: "type Map = sync.Map" meets "type Map struct" and Map's
// methods.
func aliased(got map[string]bool, decl string) bool {
	var typ string
	switch f := strings.Fields(decl); {
	case len(f) >= 2 && f[0] == "type":
		typ = f[1]
	case len(f) >= 3 && f[0] == "func" && strings.HasPrefix(f[1], "("):
		typ = strings.TrimLeft(strings.TrimSuffix(f[2], ")"), "*")
	default:
		return false
	}
	for d := range got {
		if strings.HasPrefix(d, "type "+typ+" = ") {
			return true
		}
	}
	return false
}
