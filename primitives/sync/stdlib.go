package sync

import "sync"

// Map is the standard library's sync.Map, so that a program keeps
// compiling when its import of "sync" becomes this package. It is no
// synchronization point blockscope reports on: its operations do not wait
// for each other in ways a trace should explain, and it emits nothing.
type Map = sync.Map

// Pool is the standard library's sync.Pool, for the same reason as Map;
// it emits nothing.
type Pool = sync.Pool
