package cli

import (
	"github.com/spf13/pflag"

	"github.com/blockscope/blockscope/detect"
)

func init() {
	detectorFlags = append(detectorFlags, func(f *pflag.FlagSet, cfg *detect.Config) {
		f.BoolVar(&cfg.LockOrder.SameGoroutine, "lock-order-same-goroutine", cfg.LockOrder.SameGoroutine, "lock-order: also report locks taken in both orders by only one goroutine")
	})
}
