package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// workloadVersion names tracegen's workload in the cached traces' names:
// raise it when the workload changes.
const workloadVersion = 2

// measured is one command of a round.
type measured struct {
	name string
	argv func(trace string) []string
	// limitGB caps the address space (prlimit --as), so that a tool known
	// to exhaust memory fails instead of taking the machine down.
	limitGB int
}

// sample is one run of a command.
type sample struct {
	wall time.Duration
	cpu  time.Duration // user + system
	rss  int64         // peak resident set, bytes
	err  error
}

func runCmd(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	sizes := fs.String("sizes", "10,100,500", "trace sizes in `MB`, comma-separated")
	count := fs.Int("count", 3, "runs of each command per trace (medians are reported)")
	dir := fs.String("dir", os.TempDir(), "where generated traces are kept (`DIR`)")
	gotraceLimit := fs.Int("gotrace-limit", 8, "address-space cap for go tool trace, in `GB` (0: none)")
	gotraceTimeout := fs.Duration("timeout", 5*time.Minute, "give up on a command after this long")
	skipGotrace := fs.Bool("no-gotrace", false, "do not run go tool trace")
	skipHB := fs.Bool("no-hb", false, "do not run blockscope hb")
	fs.Parse(args)

	tmp, err := os.MkdirTemp("", "tracebench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "blockscope")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/blockscope/blockscope/cmd/blockscope").CombinedOutput(); err != nil {
		return fmt.Errorf("building blockscope: %v\n%s", err, out)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	// The trace tool's own binary, so that its peak RSS is measured, not
	// the go command's.
	gotool, err := exec.Command("go", "tool", "-n", "trace").Output()
	if err != nil {
		return fmt.Errorf("go tool -n trace: %v", err)
	}
	traceTool := strings.TrimSpace(string(gotool))

	cmds := []measured{
		{name: "bare read loop", argv: func(p string) []string { return []string{self, "read", p} }},
		{name: "floor", argv: func(p string) []string { return []string{self, "read", "-floor", p} }},
	}
	jobs := hasFlag(bin, "analyze", "--jobs")
	if jobs {
		cmds = append(cmds, measured{name: "analyze --jobs 1", argv: func(p string) []string {
			return []string{bin, "analyze", "--jobs", "1", "--format", "json", p}
		}})
	}
	cmds = append(cmds,
		measured{name: "analyze", argv: func(p string) []string { return []string{bin, "analyze", "--format", "json", p} }},
	)
	if !*skipHB {
		cmds = append(cmds, measured{name: "hb", argv: func(p string) []string { return []string{bin, "hb", "-o", os.DevNull, p} }})
	}
	if !*skipGotrace {
		cmds = append(cmds, measured{name: "go tool trace -pprof=sync", limitGB: *gotraceLimit, argv: func(p string) []string {
			return []string{traceTool, "-pprof=sync", p}
		}})
	}

	var results []sized
	fmt.Printf("tracebench: %s, %d CPUs, GOMAXPROCS %d, -count %d (medians; ratios within the same run)\n\n",
		runtime.Version(), runtime.NumCPU(), runtime.GOMAXPROCS(0), *count)
	for _, s := range strings.Split(*sizes, ",") {
		mb, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || mb <= 0 {
			return fmt.Errorf("-sizes: %q is not a size in MB", s)
		}
		path := filepath.Join(*dir, fmt.Sprintf("blockscope-gen-w%d-%dMB.trace", workloadVersion, mb))
		if _, err := os.Stat(path); err != nil {
			fmt.Fprintf(os.Stderr, "recording %s...\n", path)
			if _, err := generate(path, mb); err != nil {
				return err
			}
		}
		meds, err := bench(path, cmds, *count, *gotraceTimeout)
		if err != nil {
			return err
		}
		results = append(results, sized{mb, meds})
	}
	targets(results)
	return nil
}

// sized is one trace's medians, by command name.
type sized struct {
	mb   int64
	meds map[string]sample
}

// targets prints issue 13's targets against the medians measured.
func targets(results []sized) {
	fmt.Println("### Targets (issue 13)")
	fmt.Println()
	fmt.Println("| trace | target | measured | holds |")
	fmt.Println("|---|---|---|---|")
	row := func(mb int64, target string, v float64, ok bool) {
		fmt.Printf("| %d MB | %s | %.2f× | %s |\n", mb, target, v, map[bool]string{true: "yes", false: "no"}[ok])
	}
	var rss100, rssBig int64
	var big int64
	for _, r := range results {
		floor, bare := r.meds["floor"], r.meds["bare read loop"]
		one, okOne := r.meds["analyze --jobs 1"]
		par := r.meds["analyze"]
		if okOne && one.err == nil && floor.err == nil {
			row(r.mb, "analyze --jobs 1 time ≤ 1.25× the floor's (CPU)", one.cpu.Seconds()/floor.cpu.Seconds(), one.cpu.Seconds() <= 1.25*floor.cpu.Seconds())
			row(r.mb, "analyze --jobs 1 peak RSS ≤ 1.5× the floor's", float64(one.rss)/float64(floor.rss), float64(one.rss) <= 1.5*float64(floor.rss))
			if r.mb == 100 {
				rss100 = one.rss
			}
			if r.mb > big {
				big, rssBig = r.mb, one.rss
			}
		}
		if par.err == nil && bare.err == nil {
			row(r.mb, "analyze (parallel) time < the bare loop's", par.wall.Seconds()/bare.wall.Seconds(), par.wall < bare.wall)
		}
		if gt, ok := r.meds["go tool trace -pprof=sync"]; ok && par.err == nil {
			if gt.err != nil {
				fmt.Printf("| %d MB | ≥ 10× faster than go tool trace, and never out of memory where it is | go tool trace failed (%v); analyze finished | yes |\n", r.mb, gt.err)
			} else {
				row(r.mb, "go tool trace -pprof=sync time ≥ 10× analyze's", gt.wall.Seconds()/par.wall.Seconds(), gt.wall >= 10*par.wall)
			}
		}
	}
	if rss100 > 0 && big > 100 {
		row(big, "analyze --jobs 1 peak RSS ≤ 1.2× that on the 100 MB trace", float64(rssBig)/float64(rss100), float64(rssBig) <= 1.2*float64(rss100))
	}
	fmt.Println()
}

// hasFlag reports whether the blockscope command knows the flag.
func hasFlag(bin, cmd, flag string) bool {
	out, _ := exec.Command(bin, "help", cmd).CombinedOutput()
	return bytes.Contains(out, []byte(flag+" "))
}

// bench measures the commands on one trace, prints its table and
// returns the medians by command name.
func bench(path string, cmds []measured, count int, timeout time.Duration) (map[string]sample, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	mb := float64(st.Size()) / 1e6
	samples := make([][]sample, len(cmds))
	var events int64
	for round := range count {
		for i, c := range cmds {
			fmt.Fprintf(os.Stderr, "%s: round %d: %s\n", filepath.Base(path), round+1, c.name)
			s, out := run(c, path, timeout)
			if i == 0 && s.err == nil {
				events, _ = strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
			}
			samples[i] = append(samples[i], s)
		}
	}
	meds := make([]sample, len(cmds))
	for i := range cmds {
		meds[i] = median(samples[i])
	}
	bare, floor := meds[0], meds[1]
	fmt.Printf("### %s: %.0f MB, %.1f M events\n\n", filepath.Base(path), mb, float64(events)/1e6)
	fmt.Println("| command | time | CPU | MB/s | events/s | peak RSS | time / floor | time / bare | CPU / floor | RSS / floor |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for i, c := range cmds {
		m := meds[i]
		if m.err != nil {
			fmt.Printf("| %s | failed: %v (RSS %s) | | | | | | | | |\n", c.name, m.err, mib(m.rss))
			continue
		}
		sec := m.wall.Seconds()
		fmt.Printf("| %s | %.2f s | %.2f s | %.1f | %.2f M | %s | %.2f× | %.2f× | %.2f× | %.2f× |\n",
			c.name, sec, m.cpu.Seconds(), mb/sec, float64(events)/sec/1e6, mib(m.rss),
			sec/floor.wall.Seconds(), sec/bare.wall.Seconds(), m.cpu.Seconds()/floor.cpu.Seconds(), float64(m.rss)/float64(floor.rss))
	}
	fmt.Println()
	fmt.Println("all runs (time, RSS):")
	for i, c := range cmds {
		var parts []string
		for _, s := range samples[i] {
			p := fmt.Sprintf("%.2fs (cpu %.2fs) %s", s.wall.Seconds(), s.cpu.Seconds(), mib(s.rss))
			if s.err != nil {
				p += " (failed)"
			}
			parts = append(parts, p)
		}
		fmt.Printf("  %-26s %s\n", c.name, strings.Join(parts, ", "))
	}
	fmt.Println()
	byName := make(map[string]sample, len(cmds))
	for i, c := range cmds {
		byName[c.name] = meds[i]
	}
	return byName, nil
}

// run runs one command as a child process and measures it.
func run(c measured, path string, timeout time.Duration) (sample, []byte) {
	argv := c.argv(path)
	if c.limitGB > 0 {
		argv = append([]string{"prlimit", fmt.Sprintf("--as=%d", int64(c.limitGB)<<30), "--"}, argv...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	s := sample{wall: time.Since(start)}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			s.rss = ru.Maxrss << 10
			s.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		}
	}
	switch {
	case ctx.Err() != nil:
		s.err = fmt.Errorf("timed out after %v", timeout)
	case err != nil:
		msg := strings.TrimSpace(errb.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		if c.limitGB > 0 && strings.Contains(errb.String(), "out of memory") {
			msg = fmt.Sprintf("out of memory (capped at %d GB)", c.limitGB)
		}
		s.err = fmt.Errorf("%v: %s", err, msg)
	}
	return s, out.Bytes()
}

// median returns the run of median time; failed runs sort last.
func median(ss []sample) sample {
	ss = slices.Clone(ss)
	slices.SortFunc(ss, func(a, b sample) int {
		if (a.err == nil) != (b.err == nil) {
			if a.err == nil {
				return -1
			}
			return 1
		}
		return int(a.wall - b.wall)
	})
	m := ss[len(ss)/2]
	rss := make([]int64, len(ss))
	cpu := make([]time.Duration, len(ss))
	for i, s := range ss {
		rss[i], cpu[i] = s.rss, s.cpu
	}
	slices.Sort(rss)
	slices.Sort(cpu)
	m.rss, m.cpu = rss[len(rss)/2], cpu[len(cpu)/2]
	return m
}

func mib(b int64) string {
	if b >= 1<<30 {
		return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30))
	}
	return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
}
