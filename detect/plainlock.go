package detect

import (
	"strings"
	"time"

	"github.com/blockscope/blockscope/parse"
)

// Plain sync lock hangs. The runtime's events say that a goroutine is
// parked in sync.(*Mutex).Lock at a line, not which mutex nor who holds it
// (an uncontended Lock leaves no event), so no deadlock can be proven from
// them. But goroutines that stay parked in a plain Lock, RLock or Once.Do
// to the end of a whole trace, while nobody got the lock at that line
// since they parked, are most likely deadlocked: lock order, a lock taken
// again while held, an RLock again while a writer waits, or a holder
// blocked elsewhere. The leak finding says so, and says how to have it
// proven: blockscope's primitives/sync names the locks and their holders.

// plainHangMin is how long goroutines must have hung for plainLockHang to
// call it a likely deadlock rather than a lock still changing hands.
const plainHangMin = 10 * time.Millisecond

// plainLockMethods are the plain sync methods a lock hang parks in, with
// what the message calls the wait.
var plainLockMethods = map[string]string{
	"sync.(*Mutex).Lock":    "lock",
	"sync.(*RWMutex).Lock":  "lock",
	"sync.(*RWMutex).RLock": "lock",
	"sync.(*Once).Do":       "Once",
	"sync.(*Once).doSlow":   "Once",
}

// plainLockHang says why leaked goroutines gs, parked at site sw (nil if
// nobody was woken there), look deadlocked in a plain sync lock, or ""
// when they do not: the trace must be whole, every one parked in a plain
// Lock, RLock or Once.Do (not inside blockscope's primitives or another
// library's) for plainHangMin or more, and nobody woken at that line since
// the first of them parked.
func plainLockHang(t *parse.Trace, sw *siteWakers, gs []leakedG, end parse.Time) string {
	if !t.Complete || len(gs) == 0 {
		return ""
	}
	first := gs[0].g.Since
	kind := ""
	for _, lg := range gs {
		g := lg.g
		if g.State != parse.StateWaiting {
			return ""
		}
		k := plainLockCall(t.Stacks, g.Stack)
		if k == "" || g.Reason != parse.ReasonSync || time.Duration(end-g.Since) < plainHangMin {
			return ""
		}
		kind = k
		first = min(first, g.Since)
	}
	if sw != nil && sw.lastWake >= first {
		return "" // the lock changed hands here since
	}
	if kind == "Once" {
		return "likely a deadlock: the Once's function never returned (often Do called again from inside it)"
	}
	return "likely a lock deadlock (or a lock never unlocked): nobody got this lock here since they blocked"
}

// plainLockCall names the plain sync wait a parked stack is in ("lock",
// "Once"), or "".
func plainLockCall(st *parse.Stacks, stack parse.StackID) string {
	kind := ""
	for i, n := 0, st.Depth(stack); i < n; i++ {
		f := st.Frame(stack, i)
		if strings.HasPrefix(f.Func, parse.PrimitivesPath) {
			return ""
		}
		if f.IsRuntime() || f.Package() == "internal/sync" {
			continue
		}
		if f.Package() != "sync" {
			if !f.IsUser() {
				return "" // a library's lock: its own detector, or the leak alone
			}
			break
		}
		if k, ok := plainLockMethods[f.Func]; ok {
			kind = k
		}
	}
	return kind
}

// plainLockHint is the hint of a likely plain lock deadlock.
var plainLockHint = "plain sync cannot say which lock this is or who holds it: import \"" + parse.PrimitivesPath + "sync\" instead of \"sync\" (the same API) and trace again, and blockscope proves the deadlock and names the locks, the holders and where each took them; meanwhile look for locks taken in different orders, a Lock of a lock already held, an RLock again while a writer waits, a missing Unlock on a return path (defer it), and a holder blocked under the lock"
