// Package sync is a drop-in replacement for the standard library's sync
// package whose primitives announce themselves in execution traces.
//
// Changing an import from "sync" to
// "github.com/blockscope/blockscope/primitives/sync" is the only change a
// program needs: the names, signatures and semantics are those of the
// standard library (Go 1.26). While a runtime/trace is being recorded, every
// operation that can block or that synchronizes writes a user log event
// (category "blockscope/v1", see internal/wire) naming the object, the
// operation and the sequence numbers that let blockscope pair each release
// with the acquire it enables. When no trace is being recorded the cost is one
// atomic load per operation.
//
// Beyond the standard library it offers ReentrantMutex, OnceErr, and
// read-only introspection of a Mutex (waiters, held, starving).
package sync

// noCopy may be added to structs which must not be copied after first use;
// go vet's copylocks check recognizes its Lock and Unlock methods.
type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}
