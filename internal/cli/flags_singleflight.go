package cli

import (
	"github.com/spf13/pflag"

	"github.com/blockscope/blockscope/detect"
)

func init() {
	detectorFlags = append(detectorFlags, func(f *pflag.FlagSet, cfg *detect.Config) {
		f.IntVar(&cfg.Singleflight.FanIn, "sf-fanin", cfg.Singleflight.FanIn, "singleflight-fanin: report flights joined by `N` followers or more")
		f.DurationVar(&cfg.Singleflight.Wait, "sf-wait", cfg.Singleflight.Wait, "singleflight-fanin: report flights whose followers waited this `DURATION`, and flights stalled this long at trace end")
	})
}
