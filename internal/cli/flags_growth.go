package cli

import (
	"github.com/spf13/pflag"

	"github.com/blockscope/blockscope/detect"
)

func init() {
	detectorFlags = append(detectorFlags, func(f *pflag.FlagSet, cfg *detect.Config) {
		f.IntVar(&cfg.Growth.Min, "growth-min", cfg.Growth.Min, "goroutine-growth: report a go statement with at least `N` of its goroutines alive at trace end")
		f.Float64Var(&cfg.Growth.Steady, "growth-steady", cfg.Growth.Steady, "goroutine-growth: the `FRACTION` of ten windows in which such a site's live count must have risen")
	})
}
