package cli

import (
	"github.com/spf13/pflag"

	"github.com/blockscope/blockscope/detect"
)

func init() {
	detectorFlags = append(detectorFlags, func(f *pflag.FlagSet, cfg *detect.Config) {
		f.IntVar(&cfg.Semaphore.Depth, "sema-depth", cfg.Semaphore.Depth, "semaphore-queue: report a semaphore whose queue rose by `N` waiters within --sema-window")
		f.DurationVar(&cfg.Semaphore.Wait, "sema-wait", cfg.Semaphore.Wait, "semaphore-queue: report it only if some Acquire waited at least this `DURATION`")
		f.DurationVar(&cfg.Semaphore.Window, "sema-window", cfg.Semaphore.Window, "semaphore-queue: the longest `DURATION` over which a rise of the queue counts as one buildup")
	})
}
