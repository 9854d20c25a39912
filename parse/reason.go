package parse

import "strings"

// Wait reasons as the runtime writes them into traces (Go 1.22+). Older
// traces, and goroutines already blocked when tracing began, carry no reason;
// the parser infers one from the blocked stack (see inferReason).
const (
	ReasonChanSend    = "chan send"
	ReasonChanReceive = "chan receive"
	ReasonSelect      = "select"
	ReasonForever     = "forever" // a nil channel or an empty select
	ReasonSync        = "sync"    // sync.Mutex, RWMutex, WaitGroup
	ReasonCond        = "sync.(*Cond).Wait"
	ReasonSleep       = "sleep"
	ReasonNetwork     = "network"
	ReasonSystem      = "system goroutine wait"
	ReasonUnknown     = "unknown"
)

// inferReason names the wait of a stack that the trace gave no reason for,
// from the functions the goroutine is parked in.
func inferReason(s *Stacks, id StackID) string {
	for i, n := 0, s.Depth(id); i < n; i++ {
		fn := s.Frame(id, i).Func
		switch {
		case fn == "runtime.gopark" || fn == "runtime.goparkunlock" || fn == "runtime.park_m":
			continue
		case strings.HasPrefix(fn, "runtime.chanrecv"):
			return ReasonChanReceive
		case strings.HasPrefix(fn, "runtime.chansend"):
			return ReasonChanSend
		case fn == "runtime.selectgo":
			return ReasonSelect
		case fn == "runtime.block":
			return ReasonForever
		case fn == "sync.runtime_notifyListWait" || fn == "sync.(*Cond).Wait":
			return ReasonCond
		case strings.HasPrefix(fn, "sync.") || strings.HasPrefix(fn, "internal/sync."):
			return ReasonSync
		case fn == "time.Sleep":
			return ReasonSleep
		case fn == "runtime.netpollblock" || strings.HasPrefix(fn, "internal/poll."):
			return ReasonNetwork
		case fn == "runtime.gcBgMarkWorker" || fn == "runtime.bgsweep" || fn == "runtime.bgscavenge" ||
			fn == "runtime.forcegchelper" || fn == "runtime.runFinalizers" || fn == "runtime.runfinq" ||
			fn == "runtime.runCleanups" || fn == "runtime.unique_runtime_registerUniqueMapCleanup.func2":
			return ReasonSystem
		}
	}
	if n := s.Depth(id); n > 0 && funcPackage(s.Frame(id, n-1).Func) == "runtime" {
		return ReasonSystem // parked in a runtime goroutine of its own
	}
	return ReasonUnknown
}
