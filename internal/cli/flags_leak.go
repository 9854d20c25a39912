package cli

import (
	"github.com/spf13/pflag"

	"github.com/blockscope/blockscope/detect"
)

func init() {
	detectorFlags = append(detectorFlags, func(f *pflag.FlagSet, cfg *detect.Config) {
		f.StringArrayVar(&cfg.Leak.IgnoreTopFunction, "ignore-top", cfg.Leak.IgnoreTopFunction, "leak: ignore goroutines blocked in `FUNC` (full name as in stacks): any frame from the innermost to the reported location matches (repeatable)")
		f.StringArrayVar(&cfg.Leak.IgnoreAnyFunction, "ignore-any", cfg.Leak.IgnoreAnyFunction, "leak: ignore goroutines with `FUNC` anywhere in their stack (repeatable)")
		f.DurationVar(&cfg.Leak.MinBlocked, "min-blocked", cfg.Leak.MinBlocked, "leak: ignore goroutines blocked for less than this `DURATION` at trace end")
	})
}
