package sync

import (
	"runtime"
	"sync/atomic"

	"github.com/blockscope/blockscope/internal/wire"
)

// A ReentrantMutex is a mutual exclusion lock that the goroutine holding
// it may lock again; it must then unlock it as many times as it locked it
// before another goroutine can acquire it. The standard library has no
// such lock. The zero value for a ReentrantMutex is an unlocked mutex.
//
// A ReentrantMutex must not be copied after first use.
//
// Unlike a [Mutex], a ReentrantMutex belongs to the goroutine that locked
// it: Unlock from any other goroutine panics. Go offers no goroutine
// identity, so Lock and Unlock derive the calling goroutine's id from the
// "goroutine N" header that runtime.Stack writes for the current goroutine.
// That costs a traceback of the caller's stack, about a microsecond for a
// shallow one and more for deep ones, on every Lock, TryLock, Unlock, Held
// and Depth; nothing cheaper can be cached without a goroutine-local
// store. Prefer a Mutex, and a design in which code that holds it does not
// call back into code that locks it; use a ReentrantMutex where that
// refactoring is not practical.
//
// Used as a [Cond]'s Locker, a ReentrantMutex must be held exactly once
// when Wait is called: Wait unlocks it once.
//
// In the terminology of [the Go memory model], the n'th call to Unlock
// that releases the mutex (brings its hold depth to zero) “synchronizes
// before” the m'th call to Lock that acquires it, for any n < m, as for
// [Mutex]; re-entrant Locks and Unlocks synchronize with nothing.
//
// While a runtime/trace is being recorded, every Lock and Unlock is
// annotated (see internal/wire, kind "rmutex"): lock(SEQ=g, n=hold depth
// after it) and unlock(SEQ=g, n=hold depth after it, 0 when the mutex is
// released), where g counts acquisitions by distinct holders (1, 2, ...),
// so that a re-entry carries the same SEQ as the Lock it re-enters.
//
// [the Go memory model]: https://go.dev/ref/mem
type ReentrantMutex struct {
	_     noCopy
	mu    Mutex        // its own annotations unused
	owner atomic.Int64 // goroutine id of the holder, 0 if none
	depth int64        // hold depth; written and read only by the holder
	g     uint64       // acquisition number; written and read only by the holder
	ident wire.Ident
}

// Lock locks m. If the calling goroutine already holds m, Lock only
// increments the hold depth; otherwise it blocks until m is available.
//
// Annotations: lock(SEQ=g, n=hold depth); a Lock that has to wait for
// another goroutine first emits wait(depth=waiters including this one),
// and may emit starve and normal as [Mutex.Lock] does.
func (m *ReentrantMutex) Lock() {
	id := goroutineID()
	if m.owner.Load() == id {
		m.reenter()
		return
	}
	if !atomic.CompareAndSwapInt32(&m.mu.state, 0, mutexLocked) {
		if wire.Enabled() {
			lockEvent(wire.KindReentrant, &m.ident, wire.OpWait, 0, 0, m.mu.waiters()+1)
		}
		m.mu.acquireSlow(&m.ident, wire.KindReentrant)
	}
	m.acquired(id)
}

// TryLock tries to lock m and reports whether it succeeded: it succeeds if
// the calling goroutine already holds m (incrementing the hold depth) or if
// m is free. A successful TryLock emits lock(SEQ=g, n=hold depth); a
// failed one emits nothing.
func (m *ReentrantMutex) TryLock() bool {
	id := goroutineID()
	if m.owner.Load() == id {
		m.reenter()
		return true
	}
	if !m.mu.tryAcquire() {
		return false
	}
	m.acquired(id)
	return true
}

// reenter records a Lock by the goroutine that already holds m.
func (m *ReentrantMutex) reenter() {
	m.depth++
	if wire.Enabled() {
		lockEvent(wire.KindReentrant, &m.ident, wire.OpLock, m.g, m.depth, 0)
	}
}

// acquired records that goroutine id has just acquired m.
func (m *ReentrantMutex) acquired(id int64) {
	m.owner.Store(id)
	m.depth = 1
	m.g++
	if wire.Enabled() {
		lockEvent(wire.KindReentrant, &m.ident, wire.OpLock, m.g, 1, 0)
	}
}

// Unlock undoes one Lock by the calling goroutine; the last one releases
// m. It panics if the calling goroutine does not hold m: with
// "sync: unlock of unlocked ReentrantMutex" if no goroutine does, and
// "sync: unlock of ReentrantMutex held by another goroutine" otherwise.
//
// Annotations: unlock(SEQ=g, n=hold depth after it), written before m is
// released.
func (m *ReentrantMutex) Unlock() {
	id := goroutineID()
	if owner := m.owner.Load(); owner != id {
		if owner == 0 {
			panic("sync: unlock of unlocked ReentrantMutex")
		}
		panic("sync: unlock of ReentrantMutex held by another goroutine")
	}
	m.depth--
	if wire.Enabled() {
		lockEvent(wire.KindReentrant, &m.ident, wire.OpUnlock, m.g, m.depth, 0)
	}
	if m.depth == 0 {
		m.owner.Store(0)
		m.mu.release()
	}
}

// Held reports whether the calling goroutine holds m.
func (m *ReentrantMutex) Held() bool {
	return m.owner.Load() == goroutineID()
}

// Depth returns how many times the calling goroutine has locked m without
// unlocking it: 0 if it does not hold m.
func (m *ReentrantMutex) Depth() int {
	if !m.Held() {
		return 0
	}
	return int(m.depth)
}

// SetName names m in execution traces: it emits name(key=name) if a trace
// is being recorded. It is not part of the standard library's API.
func (m *ReentrantMutex) SetName(name string) { m.ident.Name(wire.KindReentrant, name) }

// goroutineID returns the calling goroutine's id, read from the header
// line "goroutine N [status]:" that runtime.Stack writes first. Only that
// line is kept: the buffer is just long enough for it.
func goroutineID() int64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	const prefix = "goroutine "
	if n <= len(prefix) || string(buf[:len(prefix)]) != prefix {
		panic("sync: internal error: unexpected runtime.Stack header " + string(buf[:n]))
	}
	var id int64
	for _, c := range buf[len(prefix):n] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + int64(c-'0')
	}
	if id == 0 {
		panic("sync: internal error: no goroutine id in runtime.Stack header " + string(buf[:n]))
	}
	return id
}
