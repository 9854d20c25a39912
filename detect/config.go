package detect

import "fmt"

// Config holds every detector's options, one field a detector (its options
// type lives in the detector's file). Start from DefaultConfig.
type Config struct {
	Leak LeakOptions

	Semaphore    SemaphoreOptions
	Singleflight SingleflightOptions
	Growth       GrowthOptions
	MutexWait    MutexWaitOptions
	LockOrder    LockOrderOptions
}

// DefaultConfig returns every detector's documented defaults.
func DefaultConfig() *Config {
	cfg := &Config{}
	cfg.Semaphore = DefaultSemaphoreOptions()
	cfg.Singleflight = DefaultSingleflightOptions()
	cfg.Growth = DefaultGrowthOptions()
	cfg.MutexWait = DefaultMutexWaitOptions()
	cfg.LockOrder = DefaultLockOrderOptions()
	return cfg
}

// Validate reports the first option that makes no sense (a negative
// duration or count, a fraction outside [0, 1]), naming the flag that sets
// it, so that a typo is an error rather than a detector silently off.
func (c *Config) Validate() error {
	for _, check := range c.checks() {
		if check.bad {
			return fmt.Errorf("%s %v: want %s", check.flag, check.val, check.want)
		}
	}
	return nil
}

// Want says which values a detector's flag ("--sema-depth") accepts, ""
// for a flag that is not a detector's.
func (c *Config) Want(flag string) string {
	for _, check := range c.checks() {
		if check.flag == flag {
			return check.want
		}
	}
	return ""
}

type configCheck struct {
	bad  bool
	flag string
	val  any
	want string
}

func (c *Config) checks() []configCheck {
	return []configCheck{
		{c.Leak.MinBlocked < 0, "--min-blocked", c.Leak.MinBlocked, "a duration of 0 or more"},
		{c.MutexWait.Threshold <= 0, "--mutex-wait", c.MutexWait.Threshold, "a duration above 0 (the default 1ms is sync.Mutex's starvation threshold; 1ns reports every wait that parked)"},
		{c.Semaphore.Depth < 1, "--sema-depth", c.Semaphore.Depth, "1 or more waiters"},
		{c.Semaphore.Wait < 0, "--sema-wait", c.Semaphore.Wait, "a duration of 0 or more"},
		{c.Semaphore.Window <= 0, "--sema-window", c.Semaphore.Window, "a positive duration"},
		{c.Singleflight.FanIn < 1, "--sf-fanin", c.Singleflight.FanIn, "1 or more followers"},
		{c.Singleflight.Wait < 0, "--sf-wait", c.Singleflight.Wait, "a duration of 0 or more"},
		{c.Growth.Min < 1, "--growth-min", c.Growth.Min, "1 or more goroutines"},
		{!(c.Growth.Steady >= 0 && c.Growth.Steady <= 1), "--growth-steady", c.Growth.Steady, "a fraction from 0 to 1"},
	}
}
