package sync

import (
	"os"
	"runtime"
)

// fatal ends the program as the standard library's sync does when a lock
// is misused (runtime's fatal, which no recover can catch): it writes
// "fatal error: msg" and the calling goroutine's stack to standard error
// and exits with status 2. A variable, so that tests can watch it.
var fatal = func(msg string) {
	buf := make([]byte, 64<<10)
	n := runtime.Stack(buf, false)
	os.Stderr.Write([]byte("fatal error: " + msg + "\n\n"))
	os.Stderr.Write(buf[:n])
	os.Stderr.Write([]byte("\n"))
	os.Exit(2)
}
