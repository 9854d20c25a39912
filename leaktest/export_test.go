package leaktest

import "time"

// SettleFor shortens the settling wait, for tests of leaks.
func SettleFor(d time.Duration) Option { return func(o *options) { o.settle = d } }
