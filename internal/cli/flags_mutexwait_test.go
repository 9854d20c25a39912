package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/blockscope/blockscope/detect"
)

// TestLockFlags checks that the mutex-wait and lock-order flags start at
// the detectors' defaults and set their options.
func TestLockFlags(t *testing.T) {
	tests := []struct {
		args          []string
		threshold     time.Duration
		sameGoroutine bool
	}{
		{nil, time.Millisecond, true},
		{[]string{"--mutex-wait=5ms"}, 5 * time.Millisecond, true},
		{[]string{"--lock-order-same-goroutine=false"}, time.Millisecond, false},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			cfg := detect.DefaultConfig()
			f := pflag.NewFlagSet("analyze", pflag.ContinueOnError)
			for _, bind := range detectorFlags {
				bind(f, cfg)
			}
			if err := f.Parse(tt.args); err != nil {
				t.Fatalf("Parse(%q) = %v", tt.args, err)
			}
			if cfg.MutexWait.Threshold != tt.threshold || cfg.LockOrder.SameGoroutine != tt.sameGoroutine {
				t.Errorf("Parse(%q): Threshold, SameGoroutine = %v, %v; want %v, %v",
					tt.args, cfg.MutexWait.Threshold, cfg.LockOrder.SameGoroutine, tt.threshold, tt.sameGoroutine)
			}
		})
	}
}
