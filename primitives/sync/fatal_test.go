package sync

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// realFatal is fatal as the package has it; the other tests see fatal
// panic instead, so that they can recover and look at the message.
var realFatal = fatal

func init() { fatal = func(msg string) { panic(msg) } }

// TestMisuseIsFatal runs misuse in a child process, with the real fatal:
// as in the standard library, it ends the program with status 2 and
// "fatal error: ...", however the caller tries to recover.
func TestMisuseIsFatal(t *testing.T) {
	misuse := map[string]func(){
		"Mutex.Unlock":    func() { var mu Mutex; mu.Unlock() },
		"RWMutex.Unlock":  func() { var rw RWMutex; rw.Unlock() },
		"RWMutex.RUnlock": func() { var rw RWMutex; rw.RUnlock() },
	}
	if name := os.Getenv("BLOCKSCOPE_MISUSE"); name != "" {
		fatal = realFatal
		defer func() {
			recover()
			os.Stdout.WriteString("RECOVERED\n")
		}()
		misuse[name]()
		return
	}
	want := map[string]string{
		"Mutex.Unlock":    "fatal error: sync: unlock of unlocked mutex",
		"RWMutex.Unlock":  "fatal error: sync: Unlock of unlocked RWMutex",
		"RWMutex.RUnlock": "fatal error: sync: RUnlock of unlocked RWMutex",
	}
	for name := range misuse {
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestMisuseIsFatal$")
			cmd.Env = append(os.Environ(), "BLOCKSCOPE_MISUSE="+name)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := -1
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			}
			if code != 2 || !strings.HasPrefix(stderr.String(), want[name]+"\n") || strings.Contains(stdout.String(), "RECOVERED") {
				t.Errorf("%s: exit %d (%v), stdout %q, stderr %.200q; want exit 2, %q first, no recovery", name, code, err, stdout.String(), stderr.String(), want[name])
			}
		})
	}
}
