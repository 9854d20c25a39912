package detect

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
