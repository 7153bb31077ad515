package benchsuite

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"regagent/internal/registrysim"
)

// buildBinary builds cmd/regagent into a temporary directory of b.
func buildBinary(b *testing.B) string {
	b.Helper()
	if runtime.GOOS != "linux" {
		b.Skip("reads /proc: Linux only")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		b.Skip("no go command in PATH")
	}
	bin := filepath.Join(b.TempDir(), "regagent")
	out, err := exec.Command(goTool, "build", "-o", bin, "regagent/cmd/regagent").CombinedOutput()
	if err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// daemon is a running `regagent run` against its own registrysim.
type daemon struct {
	sim     *registrysim.Server
	cmd     *exec.Cmd
	started time.Time
	ready   time.Duration // start to /readyz 200

	mu        sync.Mutex
	status    string     // status endpoint address, from the log
	appliedCh chan bool  // one value per CONFIG_APPLIED record
	logDone   chan error // the log reader's end
	tail      []string   // last log lines, for failures
}

// startDaemon writes spec to a file and runs the binary on it with JSON
// logs and a status endpoint on 127.0.0.1, until b ends; it returns once
// every route is live in registrysim and /readyz answers 200.
func startDaemon(b *testing.B, bin string, spec fileSpec) *daemon {
	b.Helper()
	d := &daemon{sim: startSim(b), appliedCh: make(chan bool, 16), logDone: make(chan error, 1)}
	path := filepath.Join(b.TempDir(), "registry.yaml")
	writeFile(b, path, spec.render())
	d.cmd = exec.Command(bin, "run", "-c", path, "--proxy", d.sim.Addr(),
		"--status-addr", "127.0.0.1:0", "--log-format", "json")
	// A state directory of its own, as systemd's StateDirectory= gives:
	// never the machine's /var/lib/regagent.
	d.cmd.Env = append(os.Environ(), "STATE_DIRECTORY="+b.TempDir())
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		b.Fatal(err)
	}
	d.started = time.Now()
	if err := d.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go d.readLog(stderr)
	b.Cleanup(func() { d.stop(b) })
	d.waitReady(b, spec.Routes)
	return d
}

// readLog follows the JSON log: the status address and CONFIG_APPLIED.
func (d *daemon) readLog(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		var rec struct {
			Msg     string `json:"msg"`
			Event   string `json:"event"`
			Address string `json:"address"`
		}
		_ = json.Unmarshal(sc.Bytes(), &rec)
		d.mu.Lock()
		if d.tail = append(d.tail, sc.Text()); len(d.tail) > 20 {
			d.tail = d.tail[1:]
		}
		if rec.Msg == "status endpoint listening" {
			d.status = rec.Address
		}
		d.mu.Unlock()
		if rec.Event == "CONFIG_APPLIED" {
			select {
			case d.appliedCh <- true:
			default:
			}
		}
	}
	d.logDone <- sc.Err()
}

func (d *daemon) fatal(b *testing.B, format string, args ...any) {
	b.Helper()
	d.mu.Lock()
	tail := d.tail
	d.mu.Unlock()
	b.Fatalf(format+"\nlast log lines:\n%s", append(args, joinLines(tail))...)
}

func joinLines(ls []string) string {
	out := ""
	for _, l := range ls {
		out += "  " + l + "\n"
	}
	return out
}

func (d *daemon) waitReady(b *testing.B, routes int) {
	b.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for len(d.sim.ProxyRoutes()) != routes {
		if time.Now().After(deadline) {
			d.fatal(b, "%d routes live after 2m, want %d", len(d.sim.ProxyRoutes()), routes)
		}
		select {
		case <-d.appliedCh:
		case <-time.After(50 * time.Millisecond):
		}
	}
	httpc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for {
		d.mu.Lock()
		addr := d.status
		d.mu.Unlock()
		if addr != "" {
			resp, err := httpc.Get("http://" + addr + "/readyz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					d.ready = time.Since(d.started)
					return
				}
			}
		}
		if time.Now().After(deadline) {
			d.fatal(b, "/readyz not 200 after 2m (status address %q)", addr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (d *daemon) sample(b *testing.B) procSample {
	b.Helper()
	s, err := readProc(d.cmd.Process.Pid)
	if err != nil {
		d.fatal(b, "cannot read /proc: %v", err)
	}
	return s
}

// stop sends SIGTERM (the default shutdown mode deregisters) and waits; a
// process still running after 15 s is killed.
func (d *daemon) stop(b *testing.B) {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- d.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			b.Errorf("regagent exited: %v", err)
		}
	case <-time.After(15 * time.Second):
		_ = d.cmd.Process.Kill()
		<-done
		b.Errorf("regagent did not exit within 15s of SIGTERM")
	}
	<-d.logDone
}

// BenchmarkProcessMemory runs the real binary with 100, 1,000 and 10,000
// routes (one in ten with a health check, one option, one header) and reads
// /proc once the routes are live and /readyz is 200: peak RSS (VmHWM), RSS
// then, and RSS after 5 s idle. Target: < 20 MB idle at 100 routes.
func BenchmarkProcessMemory(b *testing.B) {
	bin := buildBinary(b)
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("%d_routes", n), func(b *testing.B) {
			for b.Loop() {
				d := startDaemon(b, bin, fileSpec{Routes: n, HealthEvery: 10, Timeout: "30s"})
				at := d.sample(b)
				time.Sleep(5 * time.Second)
				idle := d.sample(b)
				b.ReportMetric(float64(idle.HWMKB)/1024, "peak-rss-MiB")
				b.ReportMetric(float64(at.RSSKB)/1024, "rss-at-ready-MiB")
				b.ReportMetric(float64(idle.RSSKB)/1024, "idle-rss-MiB")
				b.ReportMetric(ms(d.ready), "start-to-ready-ms")
				b.ReportMetric(float64(idle.Threads), "threads")
			}
		})
	}
}

// idleWindow is 60 s unless REGAGENT_BENCH_IDLE (a Go duration) says
// otherwise, for quick trial runs.
func idleWindow(b *testing.B) time.Duration {
	b.Helper()
	v := os.Getenv("REGAGENT_BENCH_IDLE")
	if v == "" {
		return time.Minute
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		b.Fatalf("REGAGENT_BENCH_IDLE=%q: want a positive duration", v)
	}
	return d
}
