package examples_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"regagent/internal/registrysim"
)

// notifySocket is the service manager's end of $NOTIFY_SOCKET: a datagram
// socket in a new directory with a short path (at most 107 bytes).
func notifySocket(t *testing.T) (*net.UnixConn, string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "sdn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	name := filepath.Join(dir, "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, name
}

// notification returns the next datagram, or "" when none comes within
// wait (0: only one already queued).
func notification(t *testing.T, c *net.UnixConn, wait time.Duration) string {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(wait)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

// logLines collects the agent's stderr line by line.
type logLines struct {
	mu      sync.Mutex
	partial string
	lines   []string
	more    chan struct{} // closed and replaced at every new line
}

func newLogLines() *logLines { return &logLines{more: make(chan struct{})} }

func (l *logLines) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial += string(b)
	for {
		i := strings.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		l.lines = append(l.lines, l.partial[:i])
		l.partial = l.partial[i+1:]
		close(l.more)
		l.more = make(chan struct{})
	}
}

// await returns the first line matching re and its submatches.
func (l *logLines) await(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.NewTimer(30 * time.Second)
	defer deadline.Stop()
	for seen := 0; ; {
		l.mu.Lock()
		lines, more := l.lines, l.more
		l.mu.Unlock()
		for ; seen < len(lines); seen++ {
			if m := re.FindStringSubmatch(lines[seen]); m != nil {
				return m
			}
		}
		select {
		case <-more:
		case <-deadline.C:
			t.Fatalf("no log line matching %s; the agent wrote:\n%s", re, strings.Join(lines, "\n"))
		}
	}
}

// readyz returns the status endpoint's /readyz code, 0 if it does not answer.
func readyz(addr string) int {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// unitProc is the unit's main process, started by startUnit.
type unitProc struct {
	unit    unit
	cmd     *exec.Cmd
	logs    *logLines
	exited  chan struct{} // closed once the process has exited
	waitErr error         // valid once exited is closed
}

// startUnit runs the unit's ExecStart as systemd would start it: its
// Environment=, $STATE_DIRECTORY, $NOTIFY_SOCKET, and the config (the
// example registry.yaml) in the ConfigurationDirectory=, here temporary
// directories, with REGISTRY_ADDR set to registry. The test's one
// addition is a status endpoint, --status-addr 127.0.0.1:0.
func startUnit(t *testing.T, notifySocket, registry string) *unitProc {
	t.Helper()
	bin := buildLikeDocker(t)
	u := parseUnit(t, unitFile)
	start := execStart(t, u)
	env := unitEnv(t, u)
	confDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(confDir, "registry.yaml"), []byte(readFile(t, "registry.yaml")), 0o644); err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, a := range start[1:] {
		if rest, ok := strings.CutPrefix(a, env["CONFIGURATION_DIRECTORY"]+"/"); ok {
			a = filepath.Join(confDir, rest)
		}
		args = append(args, a)
	}
	args = append(args, "--status-addr", "127.0.0.1:0")
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "REGAGENT_CONFIG=")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Env = append(cmd.Env, "CONFIGURATION_DIRECTORY="+confDir, "STATE_DIRECTORY="+t.TempDir(),
		"NOTIFY_SOCKET="+notifySocket, "REGISTRY_ADDR="+registry)
	p := &unitProc{unit: u, cmd: cmd, logs: newLogLines(), exited: make(chan struct{})}
	cmd.Stderr = p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.waitErr = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// stop sends the unit's kill signal (SIGTERM unless KillSignal= says
// otherwise, which TestSystemdUnit allows only as SIGINT).
func (p *unitProc) stop(t *testing.T) syscall.Signal {
	t.Helper()
	sig := syscall.SIGTERM
	if ks, _ := p.unit.get("Service", "KillSignal"); ks == "SIGINT" {
		sig = syscall.SIGINT
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	return sig
}

// wait waits for the process to exit and fails the test unless it exits 0.
func (p *unitProc) wait(t *testing.T, after syscall.Signal) {
	t.Helper()
	<-p.exited
	if p.waitErr != nil {
		t.Fatalf("the agent exited with %v after %v", p.waitErr, after)
	}
}

// statusAddr returns the status endpoint's bound address, from the log.
func (p *unitProc) statusAddr(t *testing.T) string {
	t.Helper()
	return p.logs.await(t, regexp.MustCompile(`status endpoint listening.* address=(\S+)`))[1]
}

// TestSystemdNotify runs the unit's ExecStart as systemd would (startUnit)
// against a registry that is down at first. READY=1 must wait for the
// routes to be live (/readyz 200), ExecReload must reload the file, and
// the kill signal must bring STOPPING=1 and a deregistration.
func TestSystemdNotify(t *testing.T) {
	t.Parallel()
	sim := registrysim.New(registrysim.Options{})
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	// Down, its address kept for the later Start: the agent cannot be
	// ready until then.
	if err := sim.Stop(); err != nil {
		t.Fatal(err)
	}
	sock, sockName := notifySocket(t)
	p := startUnit(t, sockName, sim.Addr())

	addr := p.statusAddr(t)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	code := readyz(addr)
	for ; code == 0; code = readyz(addr) {
		<-tick.C
	}
	if code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz answers %d with the registry down, want 503", code)
	}
	if got := notification(t, sock, 0); got != "" {
		t.Fatalf("the agent sent %q while not ready", got)
	}

	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	if got := notification(t, sock, 30*time.Second); got != "READY=1" {
		t.Fatalf("the agent sent %q once the registry was up, want READY=1", got)
	}
	if code := readyz(addr); code != http.StatusOK {
		t.Errorf("READY=1 came, but /readyz answers %d", code)
	}
	if got := sim.Resolve("shop.example.com", "/").Backend; got == "" {
		t.Errorf("READY=1 came before the routes were live")
	}

	// systemctl reload: the unit's ExecReload with $MAINPID.
	reload := shellWords(t, p.unit["Service"]["ExecReload"][0], map[string]string{"MAINPID": strconv.Itoa(p.cmd.Process.Pid)})
	if out, err := exec.Command(reload[0], reload[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("ExecReload %q: %v\n%s", reload, err, out)
	}
	p.logs.await(t, regexp.MustCompile(`reload requested`))

	sig := p.stop(t)
	if got := notification(t, sock, 30*time.Second); got != "STOPPING=1" {
		t.Fatalf("the agent sent %q after %v, want STOPPING=1", got, sig)
	}
	p.wait(t, sig)
	if got := sim.Resolve("shop.example.com", "/").Backend; got != "" {
		t.Errorf("shop.example.com/ still goes to %s after the stop; shutdown.mode deregister should have removed it", got)
	}
	if got := notification(t, sock, 0); got != "" {
		t.Errorf("the agent sent %q after STOPPING=1", got)
	}
}

// TestSystemdNotifyBadSocket: a $NOTIFY_SOCKET the agent cannot use is a
// warning, not a failure: the agent runs and stops as usual.
func TestSystemdNotifyBadSocket(t *testing.T) {
	sim := registrysim.New(registrysim.Options{})
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	p := startUnit(t, "vsock:2:1234", sim.Addr())
	p.logs.await(t, regexp.MustCompile(`cannot notify systemd.*vsock:2:1234`))
	p.statusAddr(t)
	p.wait(t, p.stop(t))
}
