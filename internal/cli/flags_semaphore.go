package cli

import (
	"github.com/spf13/pflag"

	"github.com/blockscope/blockscope/detect"
)

func init() {
	detectorFlags = append(detectorFlags, func(f *pflag.FlagSet, cfg *detect.Config) {
		f.IntVar(&cfg.Semaphore.Depth, "sema-depth", cfg.Semaphore.Depth, "semaphore-queue: report a semaphore whose queue grew by this many `N` waiters in a buildup")
		f.DurationVar(&cfg.Semaphore.Wait, "sema-wait", cfg.Semaphore.Wait, "semaphore-queue: ... and whose longest Acquire wait reached this `DURATION`")
		f.DurationVar(&cfg.Semaphore.Window, "sema-window", cfg.Semaphore.Window, "semaphore-queue: compare arrivals and grants over windows of this `DURATION`")
	})
}
