package hbgraph

import "fmt"

// Rule is the reason an edge exists: a rule of the Go memory model (or, for
// RuleUnblock, what the runtime observed).
type Rule uint8

// The rules. Each one's doc quotes the guarantee it rests on; Rule.Doc
// returns it.
const (
	RuleBad Rule = iota
	// RuleGo: "The go statement that starts a new goroutine is synchronized
	// before the start of the goroutine's execution."
	RuleGo
	// RuleUnblock: the runtime made a parked goroutine runnable; what the
	// waker did before the unblock happens before the woken goroutine
	// resumes. This is the only edge plain sync and channels leave in a
	// trace, and it carries no object identity.
	RuleUnblock
	// RuleUnlockLock: "For any sync.Mutex or sync.RWMutex variable l and
	// n < m, call n of l.Unlock() is synchronized before call m of l.Lock()
	// returns." (primitives/sync Mutex, RWMutex, ReentrantMutex)
	RuleUnlockLock
	// RuleUnlockRLock: "For any call to l.RLock on a sync.RWMutex variable
	// l, there is an n such that the nth call to l.Unlock is synchronized
	// before the return from l.RLock".
	RuleUnlockRLock
	// RuleRUnlockLock: "... and the matching call to l.RUnlock is
	// synchronized before the return from call n+1 to l.Lock."
	RuleRUnlockLock
	// RuleOnce: "The completion of a single call of f() from once.Do(f) is
	// synchronized before the return of any call of once.Do(f)." (A Do
	// that returns on the fast path writes no event and gets no edge.)
	RuleOnce
	// RuleWaitGroup: "a call to Done “synchronizes before” the return of
	// any Wait call that it unblocks." (Every Add of an epoch counts.)
	RuleWaitGroup
	// RuleCond: "Cond arranges that a call to Broadcast or Signal
	// “synchronizes before” any Wait call that it unblocks."
	RuleCond
	// RuleSemaphore: a Release synchronizes before the Acquire it lets
	// through (one that had to wait; a fast-path Acquire gets no edge).
	RuleSemaphore
	// RuleSingleflight: the return of a flight's leader synchronizes before
	// the return of every duplicate call that joined the flight.
	RuleSingleflight
	// RuleErrgroup: the return of a function started by Go synchronizes
	// before the return of a Wait that waited for it.
	RuleErrgroup
	// RuleChanSend: "A send on a channel is synchronized before the
	// completion of the corresponding receive from that channel." The edge
	// leaves the send's wait (written before the message can enter the
	// channel) and enters the receive of the same message.
	RuleChanSend
	// RuleChanClose: "The closing of a channel is synchronized before a
	// receive that returns because the channel is closed."
	RuleChanClose
	// RuleChanRecv: "The kth receive on a channel with capacity C is
	// synchronized before the completion of the k+Cth send from that
	// channel completes." The edge leaves the wait of receive k (written
	// before the receive begins) and enters the send event of the message
	// that receive k+C got, the (k+C)th to enter the channel; for an
	// unbuffered channel (C = 0), the send of the very message received.
	RuleChanRecv
	numRules
)

var ruleInfo = [numRules]struct{ name, label, doc string }{
	RuleBad:          {"bad", "bad", ""},
	RuleGo:           {"go", "go", "The go statement that starts a new goroutine is synchronized before the start of the goroutine's execution."},
	RuleUnblock:      {"unblock", "unblock (runtime)", "The runtime made the goroutine runnable: what the waker did before happens before the woken goroutine resumes (the only edge plain sync and channels give; no object identity)."},
	RuleUnlockLock:   {"unlock-lock", "unlock→lock", "Call n of l.Unlock() is synchronized before call n+1 of l.Lock() returns."},
	RuleUnlockRLock:  {"unlock-rlock", "unlock→rlock", "The nth call to l.Unlock is synchronized before the return from an l.RLock that follows it."},
	RuleRUnlockLock:  {"runlock-lock", "runlock→lock", "The matching call to l.RUnlock is synchronized before the return from call n+1 to l.Lock."},
	RuleOnce:         {"once", "f→Do", "The completion of a single call of f() from once.Do(f) is synchronized before the return of any call of once.Do(f)."},
	RuleWaitGroup:    {"waitgroup", "done→wait", "A call to Done synchronizes before the return of any Wait call that it unblocks."},
	RuleCond:         {"cond", "signal→wait", "A call to Broadcast or Signal synchronizes before any Wait call that it unblocks."},
	RuleSemaphore:    {"semaphore", "release→acquire", "A Release synchronizes before the Acquire it lets through."},
	RuleSingleflight: {"singleflight", "leader→follower", "The return of a flight's leader synchronizes before the return of every duplicate call of that flight."},
	RuleErrgroup:     {"errgroup", "go-return→wait", "The return of a function started by Go synchronizes before the return of a Wait that waited for it."},
	RuleChanSend:     {"chan-send", "send→recv", "A send on a channel is synchronized before the completion of the corresponding receive from that channel."},
	RuleChanClose:    {"chan-close", "close→recv", "The closing of a channel is synchronized before a receive that returns because the channel is closed."},
	RuleChanRecv:     {"chan-recv", "recv→send", "The kth receive on a channel with capacity C is synchronized before the completion of the k+Cth send from that channel."},
}

// Rules lists the valid rules, in order.
func Rules() []Rule {
	rs := make([]Rule, 0, numRules-1)
	for r := RuleBad + 1; r < numRules; r++ {
		rs = append(rs, r)
	}
	return rs
}

// String returns the rule's short label, such as "unlock→lock".
func (r Rule) String() string {
	if r < numRules {
		return ruleInfo[r].label
	}
	return fmt.Sprintf("rule(%d)", r)
}

// Name returns the rule's stable identifier, such as "unlock-lock", as the
// JSON output writes it.
func (r Rule) Name() string {
	if r < numRules {
		return ruleInfo[r].name
	}
	return fmt.Sprintf("rule(%d)", r)
}

// Doc returns the guarantee the rule rests on, in the Go memory model's
// words where it has them.
func (r Rule) Doc() string {
	if r < numRules {
		return ruleInfo[r].doc
	}
	return ""
}
