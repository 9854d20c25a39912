package detect_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/blockscope/blockscope/detect"
)

// selfLock locks mu twice: a hang nothing can end.
func selfLock(mu *sync.Mutex) {
	mu.Lock()
	mu.Lock() // mark: hang
}

// handOver: two waiters queue on mu, which the caller holds; once both
// are parked, the caller unlocks and one waiter gets the lock and blocks
// holding it. The lock changed hands at the line after the other waiter
// parked: no sign of a deadlock among the lock's waiters.
func handOver(t *testing.T, mu *sync.Mutex, hold chan struct{}) {
	for range 2 {
		go func() {
			mu.Lock() // mark: queued
			<-hold
			mu.Unlock() // let the other waiter go too, once the test is done
		}()
	}
	waitBlocked(t, "detect_test.handOver.func1", "sync.Mutex.Lock", 2)
	mu.Unlock()
}

func TestPlainLockHang(t *testing.T) {
	var self, handed sync.Mutex
	hold := make(chan struct{})
	data := recordTrace(t, func() {
		go selfLock(&self)
		waitBlocked(t, "detect_test.selfLock", "sync.Mutex.Lock", 1)
		handed.Lock()
		handOver(t, &handed, hold)
		waitBlocked(t, "detect_test.handOver.func1", "chan receive", 1)
		time.Sleep(20 * time.Millisecond) // hung longer than a lock changes hands
	})
	close(hold)
	self.Unlock()
	_, fs := leakFindings(t, data, detect.LeakOptions{})

	src, err := os.ReadFile("plainlock_test.go")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	for _, tt := range []struct {
		mark   string
		likely bool
	}{
		{"hang", true},
		{"queued", false},
	} {
		var f *detect.Finding
		for i := range fs {
			l := fs[i].Location
			if filepath.Base(l.File) == "plainlock_test.go" && l.Line > 0 && strings.HasSuffix(lines[l.Line-1], "// mark: "+tt.mark) {
				f = &fs[i]
			}
		}
		if f == nil {
			t.Errorf("no leak finding at the line marked %s", tt.mark)
			continue
		}
		if got := strings.Contains(f.Message, "likely a lock deadlock"); got != tt.likely {
			t.Errorf("%s: message %q says likely a lock deadlock: %v; want %v", tt.mark, f.Message, got, tt.likely)
		}
		if got := strings.Contains(f.Hint, "primitives/sync"); got != tt.likely {
			t.Errorf("%s: hint %q names primitives/sync: %v; want %v", tt.mark, f.Hint, got, tt.likely)
		}
	}
}
