package sync

// OnceFunc returns a function that invokes f only once. The returned function
// may be called concurrently.
//
// If f panics, the returned function will panic with the same value on every call.
//
// The returned function is built on a [Once] and writes its annotations: the
// first call's f is an OpRun/OpRunDone pair, a call that finds f running an
// OpWait/OpWake pair, and a later call nothing.
func OnceFunc(f func()) func() {
	// One struct, so that the closure costs a single allocation.
	d := struct {
		once Once
		f    func()
		ok   bool // f returned normally
		p    any  // what f panicked with, if it did
	}{f: f}
	return func() {
		d.once.Do(func() {
			defer func() {
				d.f = nil // f is not needed again; let it be collected.
				if !d.ok {
					d.p = recover()
					// Panic again at once, so that the first caller's
					// stack trace reaches into f.
					panic(d.p)
				}
			}()
			d.f()
			d.ok = true
		})
		if !d.ok {
			panic(d.p)
		}
	}
}

// OnceValue returns a function that invokes f only once and returns the value
// returned by f. The returned function may be called concurrently.
//
// If f panics, the returned function will panic with the same value on every call.
//
// It writes the annotations of [OnceFunc].
func OnceValue[T any](f func() T) func() T {
	d := struct {
		once Once
		f    func() T
		ok   bool
		p    any
		v    T
	}{f: f}
	return func() T {
		d.once.Do(func() {
			defer func() {
				d.f = nil
				if !d.ok {
					d.p = recover()
					panic(d.p)
				}
			}()
			d.v = d.f()
			d.ok = true
		})
		if !d.ok {
			panic(d.p)
		}
		return d.v
	}
}

// OnceValues returns a function that invokes f only once and returns the values
// returned by f. The returned function may be called concurrently.
//
// If f panics, the returned function will panic with the same value on every call.
//
// It writes the annotations of [OnceFunc].
func OnceValues[T1, T2 any](f func() (T1, T2)) func() (T1, T2) {
	d := struct {
		once Once
		f    func() (T1, T2)
		ok   bool
		p    any
		v1   T1
		v2   T2
	}{f: f}
	return func() (T1, T2) {
		d.once.Do(func() {
			defer func() {
				d.f = nil
				if !d.ok {
					d.p = recover()
					panic(d.p)
				}
			}()
			d.v1, d.v2 = d.f()
			d.ok = true
		})
		if !d.ok {
			panic(d.p)
		}
		return d.v1, d.v2
	}
}
