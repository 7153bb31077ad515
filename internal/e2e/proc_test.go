package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// logLine is one line the binary wrote to stderr; rec is its JSON record
// (nil for a line that is not JSON, like the config errors at start-up).
type logLine struct {
	raw string
	rec map[string]any
}

func (l logLine) event() string { s, _ := l.rec["event"].(string); return s }
func (l logLine) msg() string   { s, _ := l.rec["msg"].(string); return s }

func isEvent(name string) func(logLine) bool {
	return func(l logLine) bool { return l.event() == name }
}

func isMsg(msg string) func(logLine) bool {
	return func(l logLine) bool { return l.msg() == msg }
}

// proc is one run of the real regagent binary.
type proc struct {
	tb   testing.TB
	cmd  *exec.Cmd
	logs *recorder[logLine]
	done chan struct{} // closed once the process has exited and stderr is drained
	err  error         // Wait's result, valid after done
}

// startProc runs the binary built by TestMain with args; stderr is parsed
// into log lines as they come. The process is killed when the test ends if
// it is still running.
func startProc(tb testing.TB, args ...string) *proc {
	tb.Helper()
	p := &proc{tb: tb, logs: newRecorder[logLine](), done: make(chan struct{})}
	p.cmd = exec.Command(regagent.wait(tb), args...)
	// A state directory of the test's own, as systemd's StateDirectory=
	// gives: never the machine's /var/lib/regagent.
	p.cmd.Env = append(os.Environ(), "REGAGENT_CONFIG=", "STATE_DIRECTORY="+tb.TempDir())
	lw := &lineWriter{add: p.logs.add}
	p.cmd.Stderr = lw
	p.cmd.Stdout = io.Discard
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		lw.flush()
		close(p.done)
	}()
	tb.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
		if tb.Failed() {
			items, _ := p.logs.since(0)
			for _, l := range items {
				tb.Logf("regagent: %s", l.raw)
			}
		}
	})
	return p
}

func (p *proc) signal(sig syscall.Signal) {
	p.tb.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.tb.Fatalf("cannot send %v: %v", sig, err)
	}
}

// wait waits for the process to exit, at most bound, and returns its exit
// code and how long it took.
func (p *proc) wait(bound time.Duration) (int, time.Duration) {
	p.tb.Helper()
	code, took, ok := p.tryWait(bound)
	if !ok {
		p.tb.Fatalf("regagent did not exit within %v", bound)
	}
	return code, took
}

// tryWait is wait that reports a process still running after bound
// instead of failing.
func (p *proc) tryWait(bound time.Duration) (code int, took time.Duration, exited bool) {
	p.tb.Helper()
	start := time.Now()
	t := time.NewTimer(bound)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		return -1, time.Since(start), false
	}
	took = time.Since(start)
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0, took, true
	case errors.As(p.err, &ee):
		return ee.ExitCode(), took, true
	}
	p.tb.Fatalf("regagent: %v", p.err)
	return -1, took, true
}

// await returns the first log line at or after from that matches, failing
// the test if the process exits first.
func (p *proc) await(what string, from int, match func(logLine) bool) (logLine, int) {
	p.tb.Helper()
	l, pos := p.logs.await(p.tb, what, from, func(l logLine) bool {
		return match(l) || l.raw == exitedLine
	})
	if l.raw == exitedLine {
		p.tb.Fatalf("regagent exited before %s", what)
	}
	return l, pos
}

// statusAddr returns the bound address of the status endpoint, from the
// "status endpoint listening" record.
func (p *proc) statusAddr() string {
	p.tb.Helper()
	l, _ := p.await("status endpoint listening", 0, isMsg("status endpoint listening"))
	addr, _ := l.rec["address"].(string)
	if addr == "" {
		p.tb.Fatalf("no status address in %s", l.raw)
	}
	return addr
}

// httpClient keeps no idle connections: nothing of it outlives a request.
var httpClient = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

func get(addr, path string) (int, []byte, error) {
	resp, err := httpClient.Get("http://" + addr + path)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// awaitReady polls /readyz with a short tick until it answers 200: the
// endpoint is the signal an orchestrator uses, and nothing else reports it.
func (p *proc) awaitReady(addr string) {
	p.tb.Helper()
	timeout := time.NewTimer(waitTimeout)
	defer timeout.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var last string
	for {
		code, body, err := get(addr, "/readyz")
		if err == nil && code == http.StatusOK {
			return
		}
		last = fmt.Sprintf("%d %q %v", code, body, err)
		select {
		case <-tick.C:
		case <-p.done:
			p.tb.Fatalf("regagent exited before /readyz was 200 (last: %s)", last)
		case <-timeout.C:
			p.tb.Fatalf("/readyz not 200 within %v (last: %s)", waitTimeout, last)
		}
	}
}

// exitedLine is added to the log when the process's stderr ends, so that
// waits on a line fail fast once nothing more can come.
const exitedLine = "--- regagent exited ---"

// lineWriter splits the binary's stderr into lines.
type lineWriter struct {
	add func(logLine)
	mu  sync.Mutex
	buf []byte
}

func (w *lineWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		w.line(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
}

func (w *lineWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.line(string(w.buf))
		w.buf = nil
	}
	w.add(logLine{raw: exitedLine})
}

func (w *lineWriter) line(s string) {
	l := logLine{raw: s}
	if strings.HasPrefix(s, "{") {
		_ = json.Unmarshal([]byte(s), &l.rec)
	}
	w.add(l)
}
