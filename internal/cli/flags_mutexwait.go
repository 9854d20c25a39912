package cli

import (
	"github.com/spf13/pflag"

	"github.com/blockscope/blockscope/detect"
)

func init() {
	detectorFlags = append(detectorFlags, func(f *pflag.FlagSet, cfg *detect.Config) {
		f.DurationVar(&cfg.MutexWait.Threshold, "mutex-wait", cfg.MutexWait.Threshold, "mutex-wait: report waits for a mutex longer than this `DURATION`, above 0 (the default is sync.Mutex's starvation threshold; 1ns reports every wait that parked)")
	})
}
