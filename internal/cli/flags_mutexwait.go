package cli

import (
	"github.com/spf13/pflag"

	"github.com/blockscope/blockscope/detect"
)

func init() {
	detectorFlags = append(detectorFlags, func(f *pflag.FlagSet, cfg *detect.Config) {
		f.DurationVar(&cfg.MutexWait.Threshold, "mutex-wait", cfg.MutexWait.Threshold, "mutex-wait: report waits for a mutex longer than this `DURATION` (sync.Mutex's starvation threshold; 0 means the default)")
	})
}
