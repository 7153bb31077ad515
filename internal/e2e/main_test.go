package e2e

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// regagent is the binary of the tests that run the real command (signals,
// shutdown modes, start-up refusal), built once per run.
var regagent = newBuild()

func TestMain(m *testing.M) {
	// The scenarios spend their time waiting for the agent's timers
	// (debounce, keepalive, backoff, maintenance_timeout), not computing:
	// a whole run uses a fraction of one CPU. So more of them run at once
	// than the default of one per CPU; an explicit -test.parallel wins.
	flag.Parse()
	if !flagGiven("test.parallel") {
		if err := flag.Set("test.parallel", strconv.Itoa(max(parallelScenarios, runtime.GOMAXPROCS(0)))); err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			os.Exit(1)
		}
	}
	goleak.VerifyTestMain(leakCheck{m}, goleak.Cleanup(func(code int) {
		regagent.remove()
		os.Exit(code)
	}))
}

// build is a go build of regagent that runs while the in-process
// scenarios do: only the tests of the binary wait for it.
type build struct {
	done chan struct{} // closed once the build has ended
	dir  string
	path string
	err  error
}

func newBuild() *build { return &build{done: make(chan struct{})} }

func (b *build) run() {
	defer close(b.done)
	dir, err := os.MkdirTemp("", "regagent-e2e-")
	if err != nil {
		b.err = err
		return
	}
	b.dir, b.path = dir, filepath.Join(dir, "regagent")
	if out, err := exec.Command("go", "build", "-o", b.path, "regagent/cmd/regagent").CombinedOutput(); err != nil {
		b.err = fmt.Errorf("cannot build regagent: %v\n%s", err, out)
	}
}

// wait returns the binary's path once it is built, failing tb if it could
// not be.
func (b *build) wait(tb testing.TB) string {
	tb.Helper()
	<-b.done
	if b.err != nil {
		tb.Fatal(b.err)
	}
	return b.path
}

func (b *build) remove() {
	<-b.done
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

// parallelScenarios is how many scenarios run at once at least: enough
// that the longest ones (maintenance cycles, resets and half-open links,
// the edit storms) start at once instead of queueing behind short ones.
const parallelScenarios = 8

// flagGiven tells whether the command line set the flag name.
func flagGiven(name string) bool {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// leakCheck: after every scenario has run, the
// goroutines and open file descriptors of this process (which hosts the
// in-process agents, registrysim servers and relays, and the pipes of the
// binary runs) are back to their baseline. goleak then names any goroutine
// that is left.
type leakCheck struct{ m *testing.M }

func (l leakCheck) Run() int {
	// Warm up what the runtime opens once and keeps (the network poller),
	// so the baseline does not count it as a leak.
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
	}
	baseG, baseFD := runtime.NumGoroutine(), countFDs()
	go regagent.run()
	code := l.m.Run()
	<-regagent.done // a run of tests that need no binary may end first

	// Closing is synchronous everywhere, but a goroutine that has
	// signalled its exit may still be returning: give them a moment.
	var g, fd int
	deadline := time.Now().Add(5 * time.Second)
	for {
		g, fd = runtime.NumGoroutine(), countFDs()
		if (g <= baseG && fd <= baseFD) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Printf("e2e: leaks goroutines baseline=%d after=%d fds baseline=%d after=%d\n", baseG, g, baseFD, fd)
	if code != 0 {
		return code
	}
	if fd > baseFD {
		fmt.Fprintf(os.Stderr, "e2e: %d file descriptors leaked:\n%s", fd-baseFD, listFDs())
		return 1
	}
	if g > baseG {
		var b bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&b, 1)
		fmt.Fprintf(os.Stderr, "e2e: %d goroutines leaked:\n%s", g-baseG, b.String())
		return 1
	}
	return 0
}

// countFDs counts this process's open file descriptors (Linux).
func countFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0 // not Linux: nothing to compare
	}
	return len(ents)
}

func listFDs() string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var b bytes.Buffer
	for _, e := range ents {
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		fmt.Fprintf(&b, "  fd %s -> %s\n", e.Name(), target)
	}
	return b.String()
}
