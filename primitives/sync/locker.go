package sync

// A Locker represents an object that can be locked and unlocked.
//
// Mutex, RWMutex (through RLocker for its read side) and ReentrantMutex
// implement it, and so do the standard library's sync.Mutex and
// sync.RWMutex: the two interfaces have the same method set.
type Locker interface {
	Lock()
	Unlock()
}
