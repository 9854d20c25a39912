package cli

import (
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"

	"github.com/spf13/pflag"
)

// profileFlags are --cpuprofile and --memprofile, for commands that read
// big traces: what a user sends with a report of a slow run.
type profileFlags struct {
	cpu, mem string
}

func (p *profileFlags) bind(f *pflag.FlagSet) {
	f.StringVar(&p.cpu, "cpuprofile", "", "write a CPU profile of the run to `FILE` (for go tool pprof)")
	f.StringVar(&p.mem, "memprofile", "", "write a heap profile, taken at the end of the run, to `FILE`")
}

// run runs fn under the profiles asked for. A profile that cannot be
// written is an error of its own, after fn's.
func (p *profileFlags) run(fn func() error) error {
	if p.cpu != "" {
		f, err := os.Create(p.cpu)
		if err != nil {
			return usageError("--cpuprofile: %v", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return usageError("--cpuprofile: %v", err)
		}
		defer pprof.StopCPUProfile()
	}
	err := fn()
	if p.mem != "" {
		if merr := writeHeapProfile(p.mem); merr != nil && err == nil {
			err = &exitError{code: ExitUsage, err: fmt.Errorf("--memprofile: %w", merr)}
		}
	}
	return err
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	runtime.GC() // the profile then shows what is live, up to this point
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
