package cli

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/blockscope/blockscope/detect"
	"github.com/blockscope/blockscope/parse"
)

func init() {
	detectorFlags = append(detectorFlags, func(f *pflag.FlagSet, cfg *detect.Config) {
		f.StringArrayVar(&cfg.Leak.IgnoreTopFunction, "ignore-top", cfg.Leak.IgnoreTopFunction, "leak: ignore goroutines blocked in `FUNC` (full name as in stacks): any frame from the innermost to the reported location matches (repeatable)")
		f.StringArrayVar(&cfg.Leak.IgnoreAnyFunction, "ignore-any", cfg.Leak.IgnoreAnyFunction, "leak: ignore goroutines with `FUNC` anywhere in their stack (repeatable)")
		f.StringArrayVar(&cfg.Leak.IgnoreCreatedBy, "ignore-created-by", cfg.Leak.IgnoreCreatedBy, "leak: ignore goroutines with `FUNC` on their creation stack (the go statement's; a name ending in [ or . matches the names it begins; repeatable); listed as ignored")
		f.BoolVar(&cfg.Leak.ReportKnown, "report-known", cfg.Leak.ReportKnown, "leak: report the known process-lifetime goroutines of popular libraries (os/signal, golang-lru's expirable janitor, ants' default pool, …), which are otherwise listed as ignored (known)")
		f.DurationVar(&cfg.Leak.MinBlocked, "min-blocked", cfg.Leak.MinBlocked, "leak: ignore goroutines blocked for less than this `DURATION` at trace end")
	})
}

// warnUnmatchedIgnores warns about each --ignore-top or --ignore-any
// function that no stack of the trace has: a short name, most likely,
// where the flags want the full one; it suggests the full names that end
// with it.
func warnUnmatchedIgnores(w io.Writer, stacks *parse.Stacks, opts detect.LeakOptions) {
	if len(opts.IgnoreTopFunction)+len(opts.IgnoreAnyFunction)+len(opts.IgnoreCreatedBy) == 0 {
		return
	}
	funcs := make(map[string]bool)
	for id := 1; id < stacks.Len(); id++ {
		for _, f := range stacks.Frames(parse.StackID(id)) {
			funcs[f.Func] = true
		}
	}
	for _, ig := range []struct {
		flag  string
		names []string
	}{{"--ignore-top", opts.IgnoreTopFunction}, {"--ignore-any", opts.IgnoreAnyFunction}, {"--ignore-created-by", opts.IgnoreCreatedBy}} {
		for _, name := range ig.names {
			if funcs[name] || ig.flag == "--ignore-created-by" && slices.ContainsFunc(slices.Collect(maps.Keys(funcs)), func(fn string) bool { return detect.FuncMatches(fn, name) }) {
				continue
			}
			var like []string
			for fn := range funcs {
				if strings.HasSuffix(fn, name) && (strings.HasSuffix(fn, "."+name) || strings.HasSuffix(fn, "/"+name) || strings.HasPrefix(name, ".")) {
					like = append(like, fn)
				}
			}
			slices.Sort(like)
			msg := fmt.Sprintf("%s %q matches no function in the trace's stacks (it wants a full name, as stacks show it)", ig.flag, name)
			switch {
			case len(like) == 1:
				msg += fmt.Sprintf("; did you mean %q?", like[0])
			case len(like) > 1:
				msg += fmt.Sprintf("; did you mean one of %s?", quoteList(like, 3))
			}
			fmt.Fprintf(w, "blockscope: warning: %s\n", msg)
		}
	}
}

// quoteList quotes up to max names, and says how many more there are.
func quoteList(names []string, max int) string {
	var q []string
	for _, n := range names[:min(len(names), max)] {
		q = append(q, strconv.Quote(n))
	}
	s := strings.Join(q, ", ")
	if len(names) > max {
		s += fmt.Sprintf(" (and %d more)", len(names)-max)
	}
	return s
}
