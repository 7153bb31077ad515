package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"regagent/internal/registrysim"
)

// exitBound bounds the wait for the command to exit. It is no timing
// assertion: a shutdown that ignored the signals would take over a minute
// (the files' drain_timeout plus the shutdown bound).
const exitBound = 30 * time.Second

// daemonProc is one run of this package's main as a separate process: the
// regagent that testscript.Main (see TestMain) puts in $PATH. Signals then
// reach the command's own handlers, the second-signal exit included.
type daemonProc struct {
	t      *testing.T
	cmd    *exec.Cmd
	stderr *syncBuffer
	done   chan struct{} // closed once the process has exited
	err    error         // Wait's result, valid after done
}

func startDaemon(t *testing.T, args ...string) *daemonProc {
	t.Helper()
	bin, err := exec.LookPath("regagent")
	if err != nil {
		t.Fatalf("no regagent in $PATH (set up by testscript.Main): %v", err)
	}
	p := &daemonProc{t: t, stderr: newSyncBuffer(), done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	// Nothing of the test's environment decides what the command does.
	p.cmd.Env = append(os.Environ(), "REGAGENT_CONFIG=", "NOTIFY_SOCKET=", "STATE_DIRECTORY="+t.TempDir())
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("stderr of regagent %s:\n%s", strings.Join(args, " "), p.stderr.String())
		}
	})
	return p
}

func (p *daemonProc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("cannot send %v: %v", sig, err)
	}
}

// await waits until stderr holds want, failing at once if the process
// exits first.
func (p *daemonProc) await(want string) {
	p.t.Helper()
	timeout := time.After(exitBound)
	for !strings.Contains(p.stderr.String(), want) {
		select {
		case <-p.stderr.changed:
		case <-p.done:
			if !strings.Contains(p.stderr.String(), want) {
				p.t.Fatalf("regagent exited (%v) before writing %q", p.err, want)
			}
		case <-timeout:
			p.t.Fatalf("no %q on stderr within %v", want, exitBound)
		}
	}
}

// wait returns the exit code once the process has exited.
func (p *daemonProc) wait() int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(exitBound):
		p.t.Fatalf("regagent did not exit within %v", exitBound)
	}
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return exitOK
	case errors.As(p.err, &ee):
		return ee.ExitCode()
	}
	p.t.Fatalf("regagent: %v", p.err)
	return -1
}

// daemonCase is one of the commands that run the agent, with the arguments
// that point it at a registry it can reach.
type daemonCase struct {
	name string
	args func(t *testing.T, path string) []string
	sim  *registrysim.Server // run's registry; demo brings its own
}

// daemonCases returns run, against a registrysim of the test's, and demo.
func daemonCases(t *testing.T) []*daemonCase {
	t.Helper()
	sim := registrysim.New(registrysim.Options{})
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return []*daemonCase{
		{name: "run", sim: sim, args: func(t *testing.T, path string) []string {
			return []string{"run", "-c", path, "--proxy", sim.Addr(), "--log-format", "json",
				"--state-file", filepath.Join(t.TempDir(), "regagent.state")}
		}},
		{name: "demo", args: func(_ *testing.T, path string) []string {
			return []string{"demo", "-c", path, "--log-format", "json"}
		}},
	}
}

// writeDaemonFile writes the file both commands run. The debounce is the
// longest allowed, so within the test only SIGHUP makes the agent re-read
// the file.
func writeDaemonFile(t *testing.T, path, instance, shutdown string) {
	t.Helper()
	body := "proxy: {address: \"registry:9000\"}\nservice: {name: shop, instance: " + instance + "}\n" +
		"reload: {debounce: 1m}\n" + shutdown +
		"routes:\n  - {name: web, domains: [shop.example.com], path: /, backend: \"http://web-1:3000\"}\n"
	if err := os.WriteFile(path+".tmp", []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
}

// Both commands re-read the file on SIGHUP, warn about a setting that only
// a restart takes, and end with exit 0 on SIGTERM.
func TestDaemonReloadsOnSIGHUP(t *testing.T) {
	for _, dc := range daemonCases(t) {
		t.Run(dc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "registry.yaml")
			writeDaemonFile(t, path, "a", "")
			p := startDaemon(t, dc.args(t, path)...)
			p.await(`"event":"CONFIG_APPLIED"`)

			writeDaemonFile(t, path, "b", "")
			p.signal(syscall.SIGHUP)
			p.await(`"msg":"reload requested"`)
			p.await("take effect when the agent restarts: service.instance")

			p.signal(syscall.SIGTERM)
			if code := p.wait(); code != exitOK {
				t.Errorf("exit %d after SIGTERM, want %d", code, exitOK)
			}
		})
	}
}

// In both commands a second signal during a long drain exits at once, with
// exit 1.
func TestDaemonSecondSignalExitsAtOnce(t *testing.T) {
	for _, dc := range daemonCases(t) {
		t.Run(dc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "registry.yaml")
			writeDaemonFile(t, path, "second-"+dc.name, "shutdown: {mode: drain, drain_timeout: 1m}\n")
			p := startDaemon(t, dc.args(t, path)...)
			p.await(`"event":"CONFIG_APPLIED"`)

			p.signal(syscall.SIGTERM)
			p.await(`"msg":"draining"`)
			p.signal(syscall.SIGTERM)
			if code := p.wait(); code != exitError {
				t.Errorf("exit %d after a second signal, want %d", code, exitError)
			}
			if !strings.Contains(p.stderr.String(), "regagent: second signal, exiting now\n") {
				t.Errorf("no word of the second signal on stderr")
			}
		})
	}
}

// run refuses an invalid file at start: every error on its own line with
// its position, exit 1, and nothing sent. (The demo waits for the file to
// be fixed instead: TestDemoWaitsForAValidFile.)
func TestDaemonRefusesInvalidFile(t *testing.T) {
	for _, dc := range daemonCases(t) {
		if dc.name != "run" {
			continue
		}
		t.Run(dc.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "registry.yaml")
			body := "proxy: {address: \"registry:9000\"}\nservise: {}\nservice: {name: shop}\n" +
				"routes:\n  - {name: web, domains: [shop.example.com], path: /, backend: \"web-1:3000\"}\n"
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			p := startDaemon(t, dc.args(t, path)...)
			if code := p.wait(); code != exitError {
				t.Errorf("exit %d for an invalid file, want %d", code, exitError)
			}
			stderr := p.stderr.String()
			positioned := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(path) + `:\d+:\d+: `)
			if n := len(positioned.FindAllString(stderr, -1)); n != 2 {
				t.Errorf("%d positioned errors on stderr, want 2", n)
			}
			if !strings.Contains(stderr, "regagent: the config is invalid (2 errors); nothing was sent\n") {
				t.Errorf("no summary of the invalid config on stderr")
			}
			if dc.sim != nil {
				if cmds := dc.sim.Commands(); len(cmds) != 0 {
					t.Errorf("the registry received %q", cmds)
				}
			}
		})
	}
}
