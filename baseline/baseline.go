// Package baseline records the findings a codebase already has, so that CI
// fails only on new ones, and holds suppressions: findings accepted for a
// stated reason.
//
// A baseline file is JSON:
//
//	{
//	  "version": 1,
//	  "findings": [
//	    {"fingerprint": "9f2c…", "kind": "leak", "location": "pkg/pool.go:42",
//	     "message": "1 goroutine blocked on chan receive …"}
//	  ],
//	  "suppressions": [
//	    {"kind": "leak", "func": "example.com/pool.(*Pool).worker",
//	     "reason": "workers idle until Close; the tests stop the trace first"}
//	  ]
//	}
//
// A finding is baselined when the file holds its fingerprint
// (report.Fingerprint: the kind, test, wait reason and function names of
// its stacks, no lines or ids), so it stays baselined when unrelated edits
// move its code and across reruns; location and message are there for the
// reader. A fingerprint listed n times baselines n findings that share it:
// the n+1-th is new. Baselined findings are counted, not listed.
//
// A suppression matches findings of its kind (any kind if empty) with a
// frame whose function matches func, a pattern in which * stands for any
// run of characters ("example.com/pool.*" matches the whole package). A
// suppressed finding is reported as suppressed, with the reason, and never
// fails the run. Every suppression needs a reason.
package baseline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/parse"
	"github.com/blockscope/blockscope/report"
)

// Version is the version of the file format.
const Version = 1

// File is a baseline file.
type File struct {
	Version      int           `json:"version"`
	Findings     []Entry       `json:"findings"`
	Suppressions []Suppression `json:"suppressions,omitempty"`
}

// Entry is a known finding.
type Entry struct {
	Fingerprint string `json:"fingerprint"`
	Kind        string `json:"kind"`
	Location    string `json:"location,omitempty"` // file:line when recorded
	Message     string `json:"message,omitempty"`
}

// Suppression accepts findings for a reason.
type Suppression struct {
	Kind   string `json:"kind,omitempty"`
	Func   string `json:"func"`
	Reason string `json:"reason"`

	re *regexp.Regexp
}

// Read reads and checks a baseline file.
func Read(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("baseline %s: %v", path, err)
	}
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("baseline %s: not a baseline file: %v", path, err)
	}
	if f.Version != Version {
		return nil, fmt.Errorf("baseline %s: version %d; want %d", path, f.Version, Version)
	}
	for i := range f.Suppressions {
		if err := f.Suppressions[i].compile(); err != nil {
			return nil, fmt.Errorf("baseline %s: suppression %d: %v", path, i+1, err)
		}
	}
	return &f, nil
}

func (s *Suppression) compile() error {
	switch {
	case s.Func == "":
		return errors.New(`no "func": say which function's findings it suppresses (* matches any run of characters)`)
	case strings.TrimSpace(s.Reason) == "":
		return fmt.Errorf(`%q has no "reason": every suppression says why`, s.Func)
	case s.Kind != "" && detect.Lookup(s.Kind) == nil:
		return fmt.Errorf("unknown finding kind %q", s.Kind)
	}
	parts := strings.Split(s.Func, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	s.re = regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
	return nil
}

// matches reports whether the suppression matches a finding.
func (s *Suppression) matches(f detect.Finding) bool {
	if s.Kind != "" && s.Kind != f.Kind {
		return false
	}
	if s.re == nil {
		if s.compile() != nil {
			return false
		}
	}
	if s.re.MatchString(f.Location.Func) {
		return true
	}
	return slices.ContainsFunc(f.Stack, func(fr parse.Frame) bool { return s.re.MatchString(fr.Func) })
}

// suppression returns the first suppression that matches fd, or nil.
func (f *File) suppression(fd detect.Finding) *Suppression {
	for i := range f.Suppressions {
		if s := &f.Suppressions[i]; s.matches(fd) {
			return s
		}
	}
	return nil
}

// Apply moves a's findings that a suppression matches to a.Suppressed, and
// those the baseline holds to the count a.Baselined, in that order.
func (f *File) Apply(a *report.Analysis) {
	left := map[string]int{}
	for _, e := range f.Findings {
		left[e.Fingerprint]++
	}
	var keep []report.Finding
	for _, fd := range a.Findings {
		if s := f.suppression(fd.Finding); s != nil {
			a.Suppressed = append(a.Suppressed, report.Suppressed{Finding: fd, Reason: s.Reason})
			continue
		}
		if left[fd.Fingerprint] > 0 {
			left[fd.Fingerprint]--
			a.Baselined++
			continue
		}
		keep = append(keep, fd)
	}
	a.Findings = keep
}

// Record sets the baseline's findings to a's, keeping its suppressions
// (findings they match are not recorded).
func (f *File) Record(a *report.Analysis) {
	f.Version = Version
	f.Findings = []Entry{}
	for _, fd := range a.Findings {
		if f.suppression(fd.Finding) != nil {
			continue
		}
		loc := ""
		if fd.Location.File != "" {
			rel, _ := a.Paths.ModuleRelative(fd.Location.File)
			loc = rel + ":" + strconv.Itoa(fd.Location.Line)
		}
		f.Findings = append(f.Findings, Entry{Fingerprint: fd.Fingerprint, Kind: fd.Kind, Location: loc, Message: fd.Message})
	}
}

// Write writes the file as indented JSON.
func (f *File) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(f)
}
