package agent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"regagent/internal/config"
	"regagent/internal/reconcile"
	"regagent/internal/registrysim"
)

// logBuffer collects a logger's records as JSON lines.
type logBuffer struct{ bytes.Buffer }

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewJSONHandler(b, nil)) }

// count returns how many records at level have msg starting with prefix.
func (b *logBuffer) count(tb testing.TB, level, prefix string) int {
	tb.Helper()
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			tb.Fatalf("log line %q: %v", line, err)
		}
		if rec["level"] == level && strings.HasPrefix(rec["msg"].(string), prefix) {
			n++
		}
	}
	return n
}

func testMemory(backend string) reconcile.Memory {
	return reconcile.Memory{
		Service: "shop", Instance: "i1",
		Routes: []reconcile.MemoryRoute{
			{Name: "web", Domains: []string{"shop.test", "www.shop.test"}, Path: "/", Backend: backend},
			{Name: "admin", Domains: []string{"shop.test"}, Path: "/admin", Backend: "http://admin:3001"},
		},
		Maintenance: map[string]string{"http://admin:3001": "http://pages/maint"},
		MaxRouteID:  7,
	}
}

// tempFiles lists what the atomic write may have left in dir.
func tempFiles(tb testing.TB, dir string) []string {
	tb.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var tmp []string
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			tmp = append(tmp, e.Name())
		}
	}
	return tmp
}

func TestResolveStatePath(t *testing.T) {
	env := func(vars map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	}
	none := env(nil)
	systemd := env(map[string]string{"STATE_DIRECTORY": "/var/lib/a:/var/lib/b"})
	for _, tc := range []struct {
		name, flag, key string
		lookup          func(string) (string, bool)
		want            string
	}{
		{"default", "", "", none, "/var/lib/regagent/regagent.state"},
		{"systemd takes the first directory", "", "", systemd, "/var/lib/a/regagent.state"},
		{"empty STATE_DIRECTORY", "", "", env(map[string]string{"STATE_DIRECTORY": ""}), "/var/lib/regagent/regagent.state"},
		{"key", "", "/srv/s.json", systemd, "/srv/s.json"},
		{"key off", "", "off", systemd, ""},
		{"flag wins over key", "/tmp/f.state", "/srv/s.json", none, "/tmp/f.state"},
		{"flag off wins over key", "off", "/srv/s.json", none, ""},
		{"flag path wins over key off", "/tmp/f.state", "off", none, "/tmp/f.state"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := resolveStatePath(tc.flag, tc.key, tc.lookup); got != tc.want {
				t.Errorf("resolveStatePath(%q, %q) = %q, want %q", tc.flag, tc.key, got, tc.want)
			}
		})
	}
}

func TestStateFileRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "regagent.state")
	var logs logBuffer
	s := newStateFile(path, "shop", "i1", logs.logger())
	if m := s.load(); m != nil {
		t.Fatalf("load of a missing file = %+v, want nil", m)
	}
	if n := logs.count(t, "WARN", ""); n != 0 {
		t.Errorf("a missing file (first start) warned %d times:\n%s", n, logs.String())
	}
	want := testMemory("http://a:3000")
	s.remember(want)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("state file mode %v, want 0600", perm)
	}
	if tmp := tempFiles(t, dir); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}

	// A new process reads it back.
	got := newStateFile(path, "shop", "i1", logs.logger()).load()
	if got == nil || !reflect.DeepEqual(*got, want) {
		t.Fatalf("load = %+v, want %+v", got, want)
	}
	b, _ := os.ReadFile(path)
	if !bytes.Contains(b, []byte(`"format":1`)) {
		t.Errorf("no format version in %s", b)
	}
}

// A field this agent does not know (written by a newer one) is skipped;
// the routes are still read.
func TestStateFileIgnoresUnknownFields(t *testing.T) {
	path := filepath.Join(t.TempDir(), "regagent.state")
	writeState(t, path, `{"format":1,"service":"shop","instance":"i1","future":{"x":1},`+
		`"routes":[{"domains":["a"],"path":"/","backend":"http://a","weight":3}]}`)
	var logs logBuffer
	got := newStateFile(path, "shop", "i1", logs.logger()).load()
	if got == nil || len(got.Routes) != 1 || got.Routes[0].Backend != "http://a" {
		t.Fatalf("load = %+v, want the route:\n%s", got, logs.String())
	}
}

// A memory without identity gets the agent's: the file must say whose
// routes these are.
func TestStateFileFillsIdentity(t *testing.T) {
	path := filepath.Join(t.TempDir(), "regagent.state")
	var logs logBuffer
	m := testMemory("http://a:3000")
	m.Service, m.Instance = "", ""
	newStateFile(path, "shop", "i1", logs.logger()).remember(m)
	got := newStateFile(path, "shop", "i1", logs.logger()).load()
	if got == nil || got.Service != "shop" || got.Instance != "i1" {
		t.Fatalf("load = %+v, want service shop instance i1", got)
	}
}

func TestStateFileSkipsIdenticalWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "regagent.state")
	var logs logBuffer
	s := newStateFile(path, "shop", "i1", logs.logger())
	s.remember(testMemory("http://a:3000"))
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	s.remember(testMemory("http://a:3000"))
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the same content was written again (stat: %v)", err)
	}
	s.remember(testMemory("http://b:3000"))
	got := newStateFile(path, "shop", "i1", logs.logger()).load()
	if got == nil || got.Routes[0].Backend != "http://b:3000" {
		t.Fatalf("after a change, load = %+v, want backend b", got)
	}

	// What was read at start counts as written: the first Remember of the
	// same memory writes nothing.
	s2 := newStateFile(path, "shop", "i1", logs.logger())
	m := s2.load()
	if m == nil {
		t.Fatal("load = nil")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	s2.remember(*m)
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the memory read at start was written again (stat: %v)", err)
	}
}

// Every unusable file is ignored with one warning that says what cannot
// be cleaned; the agent then writes its own state over it.
func TestStateFileUnusable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, path string)
	}{
		{"corrupt", func(t *testing.T, path string) { writeState(t, path, `{"format":1,"routes":[`) }},
		{"not JSON", func(t *testing.T, path string) { writeState(t, path, "\x00\x01garbage") }},
		{"trailing data", func(t *testing.T, path string) {
			writeState(t, path, `{"format":1,"service":"shop","instance":"i1","routes":[]}{"format":1`)
		}},
		{"other format", func(t *testing.T, path string) {
			writeState(t, path, `{"format":2,"service":"shop","instance":"i1","routes":[]}`)
		}},
		{"another service", func(t *testing.T, path string) {
			m := testMemory("http://a:3000")
			m.Service = "blog"
			newStateFile(path, "blog", "i1", slog.New(slog.DiscardHandler)).remember(m)
		}},
		{"another instance", func(t *testing.T, path string) {
			m := testMemory("http://a:3000")
			m.Instance = "i2"
			newStateFile(path, "shop", "i2", slog.New(slog.DiscardHandler)).remember(m)
		}},
		{"pipe in a domain", func(t *testing.T, path string) {
			writeState(t, path, `{"format":1,"service":"shop","instance":"i1","routes":[{"domains":["a|b"],"path":"/","backend":"http://a"}]}`)
		}},
		{"newline in a backend", func(t *testing.T, path string) {
			writeState(t, path, `{"format":1,"service":"shop","instance":"i1","routes":[{"domains":["a"],"path":"/","backend":"http://a\nPING"}]}`)
		}},
		{"path without slash", func(t *testing.T, path string) {
			writeState(t, path, `{"format":1,"service":"shop","instance":"i1","routes":[{"domains":["a"],"path":"x","backend":"http://a"}]}`)
		}},
		{"unreadable (a directory)", func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}},
		{"too large", func(t *testing.T, path string) {
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			// Sparse: the size is what counts, not the disk used.
			if err := f.Truncate(maxStateSize + 1); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "regagent.state")
			tc.setup(t, path)
			var logs logBuffer
			s := newStateFile(path, "shop", "i1", logs.logger())
			if m := s.load(); m != nil {
				t.Fatalf("load = %+v, want nil", m)
			}
			if n := logs.count(t, "WARN", "ignoring the state file"); n != 1 {
				t.Errorf("%d warnings, want 1:\n%s", n, logs.String())
			}
			if !strings.Contains(logs.String(), "routes deleted from the file while the agent was down") {
				t.Errorf("the warning does not say what cannot be cleaned:\n%s", logs.String())
			}
		})
	}
}

// A state directory that is missing (a volume not mounted) is reported at
// start, once: the first write fails the same way and says nothing more.
func TestStateFileProbeWarnsAtStart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "missing")
	var logs logBuffer
	s := newStateFile(filepath.Join(dir, "regagent.state"), "shop", "i1", logs.logger())
	s.load()
	s.probe()
	if n := logs.count(t, "WARN", "cannot write the state file"); n != 1 {
		t.Fatalf("%d warnings at start, want 1:\n%s", n, logs.String())
	}
	s.remember(testMemory("http://a:3000"))
	if n := logs.count(t, "WARN", "cannot write the state file"); n != 1 {
		t.Errorf("the first write warned again:\n%s", logs.String())
	}

	// A writable directory: the probe leaves nothing behind and says nothing.
	var ok logBuffer
	okDir := t.TempDir()
	s = newStateFile(filepath.Join(okDir, "regagent.state"), "shop", "i1", ok.logger())
	s.probe()
	if n := ok.count(t, "WARN", ""); n != 0 {
		t.Errorf("the probe of a writable directory warned:\n%s", ok.String())
	}
	if ents, _ := os.ReadDir(okDir); len(ents) != 0 {
		t.Errorf("the probe left %v", ents)
	}
}

// A corrupt file is replaced by the next write.
func TestStateFileCorruptIsOverwritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "regagent.state")
	writeState(t, path, "not json")
	var logs logBuffer
	s := newStateFile(path, "shop", "i1", logs.logger())
	if s.load() != nil {
		t.Fatal("a corrupt file was loaded")
	}
	s.remember(testMemory("http://a:3000"))
	if got := newStateFile(path, "shop", "i1", logs.logger()).load(); got == nil {
		t.Fatalf("the corrupt file was not replaced:\n%s", logs.String())
	}
}

// An unwritable state file warns once per distinct error, not once per
// write, and says so when writing works again.
func TestStateFileUnwritableWarnsOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	path := filepath.Join(dir, "regagent.state")
	var logs logBuffer
	s := newStateFile(path, "shop", "i1", logs.logger())
	for i := range 5 {
		s.remember(testMemory("http://a:" + string(rune('0'+i))))
	}
	if n := logs.count(t, "WARN", "cannot write the state file"); n != 1 {
		t.Fatalf("%d write warnings for the same error, want 1:\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), "routes deleted from the file while the agent was down") {
		t.Errorf("the warning does not say what cannot be cleaned:\n%s", logs.String())
	}

	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s.remember(testMemory("http://a:9"))
	if n := logs.count(t, "INFO", "state file written again"); n != 1 {
		t.Errorf("%d recovery records, want 1:\n%s", n, logs.String())
	}
	if got := newStateFile(path, "shop", "i1", logs.logger()).load(); got == nil || got.Routes[0].Backend != "http://a:9" {
		t.Fatalf("load after recovery = %+v", got)
	}

	// Another error is another warning: the state file's path is now a
	// directory, so the rename fails; the temporary file goes away.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(path, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	s.remember(testMemory("http://a:10"))
	s.remember(testMemory("http://a:11"))
	if n := logs.count(t, "WARN", "cannot write the state file"); n != 2 {
		t.Errorf("%d write warnings after a second kind of error, want 2:\n%s", n, logs.String())
	}
	if tmp := tempFiles(t, dir); len(tmp) != 0 {
		t.Errorf("temporary files left after a failed write: %v", tmp)
	}
}

func writeState(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// The state file is read once, at start: a change is reported as taking
// effect at the next restart.
func TestStateFileIsRestartOnly(t *testing.T) {
	a, b := &config.Config{}, &config.Config{}
	b.State.File = "/srv/regagent.state"
	if got := restartOnly(a, b); !reflect.DeepEqual(got, []string{"state.file"}) {
		t.Errorf("restartOnly = %q, want [state.file]", got)
	}
}

// The agent writes what it applied to the file's state.file, and a second
// agent with the same service and instance inherits it: the route the
// file no longer has, left served by the first agent's session (keep mode,
// PROTOCOL.md §7), is removed from the proxy.
func TestAgentStateFileAcrossRuns(t *testing.T) {
	state := filepath.Join(t.TempDir(), "regagent.state")
	head := header + "state:\n  file: " + state + "\nshutdown:\n  mode: keep\n"
	f := newFixture(t, head+"routes:\n"+routeYAML("web", "a.example.com", "/", "http://b:3000")+
		routeYAML("old", "old.example.com", "/", "http://old:3000"))
	opts := f.options()
	opts.StateFile = "" // the file's state.file
	f.start(opts)
	f.await(EventConfigApplied)
	if err := f.stop(); err != nil {
		t.Fatal(err)
	}
	got := newStateFile(state, "shop", "i1", slog.New(slog.DiscardHandler)).load()
	if got == nil || len(got.Routes) != 2 {
		t.Fatalf("state after the first run = %+v, want both routes", got)
	}
	// The proxy must have seen the connection end: a REGISTER while it is
	// still live would remove its routes at once (§2).
	deadline := time.Now().Add(10 * time.Second)
	for ss := f.sim.Sessions(); len(ss) != 1 || ss[0].Connected; ss = f.sim.Sessions() {
		if time.Now().After(deadline) {
			t.Fatalf("sessions %+v, want one in its grace", ss)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := f.sim.Resolve("old.example.com", "/"); got.Backend != "http://old:3000" {
		t.Fatalf("keep mode: old.example.com/ = %v %s", got.Kind, got.Backend)
	}

	f.write(head + "routes:\n" + routeYAML("web", "a.example.com", "/", "http://b:3000"))
	f.start(opts)
	f.await(EventConfigApplied)
	if got := f.sim.Resolve("old.example.com", "/"); got.Kind != registrysim.TargetNone {
		t.Errorf("old.example.com/ = %v %s, want no route", got.Kind, got.Backend)
	}
	got = newStateFile(state, "shop", "i1", slog.New(slog.DiscardHandler)).load()
	if got == nil || len(got.Routes) != 1 || got.Routes[0].Backend != "http://b:3000" {
		t.Fatalf("state after the second run = %+v, want the web route only", got)
	}
}

// BenchmarkStateFileWrite measures one Remember that changes the content:
// an atomic write of the memory of 1,000 routes (two fsyncs), which the
// reconciler pays before and after each plan that changes something.
func BenchmarkStateFileWrite(b *testing.B) {
	m := reconcile.Memory{Service: "shop", Instance: "i1"}
	for i := range 1000 {
		m.Routes = append(m.Routes, reconcile.MemoryRoute{Name: fmt.Sprintf("r%d", i),
			Domains: []string{fmt.Sprintf("s%d.example.com", i)}, Path: "/", Backend: fmt.Sprintf("http://b%d:3000", i)})
	}
	s := newStateFile(filepath.Join(b.TempDir(), "regagent.state"), "shop", "i1", slog.New(slog.DiscardHandler))
	for i := 0; b.Loop(); i++ {
		m.MaxRouteID = i // a new content each time
		s.remember(m)
	}
	b.ReportMetric(float64(len(s.last)), "bytes/file")
}
