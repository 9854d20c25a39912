// Package known: a test starts the standard library's signal watcher, a
// goroutine that lives as long as the process (os/signal never stops it),
// and a goroutine of its own the user tells blockscope to ignore.
package known

import (
	"os"
	"os/signal"
	"testing"
)

func watch(ch chan os.Signal) {
	<-ch // ignored: --ignore-created-by example.com/leaktests/known.startWatcher
}

func startWatcher() {
	go watch(make(chan os.Signal))
}

func TestNotify(t *testing.T) {
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt)
	startWatcher()
}
