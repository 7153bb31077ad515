package examples_test

import (
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"regagent/internal/config"
)

const unitFile = "systemd/regagent.service"

// testHost is what the %H specifier (the host name) gives in the tests.
const testHost = "vm-7.example.net"

// unit is a parsed systemd unit file: section → key → the values assigned
// in order, an empty assignment ("Key=") resetting the list as systemd
// does for list settings.
type unit map[string]map[string][]string

// parseUnit reads a unit file the way systemd does: [Section] headers,
// Key=Value lines, comments starting with # or ;, a trailing backslash
// joining the next line, and the %H and %% specifiers expanded.
func parseUnit(tb testing.TB, file string) unit {
	tb.Helper()
	u := unit{}
	section := ""
	lines := strings.Split(readFile(tb, file), "\n")
	for i := 0; i < len(lines); i++ {
		n := i + 1
		text := strings.TrimSpace(lines[i])
		if text == "" || text[0] == '#' || text[0] == ';' {
			continue
		}
		for strings.HasSuffix(text, `\`) && i+1 < len(lines) {
			i++
			text = strings.TrimSuffix(text, `\`) + " " + strings.TrimSpace(lines[i])
		}
		if strings.HasPrefix(text, "[") && strings.HasSuffix(text, "]") {
			section = text[1 : len(text)-1]
			if u[section] == nil {
				u[section] = map[string][]string{}
			}
			continue
		}
		key, value, ok := strings.Cut(text, "=")
		if !ok || section == "" {
			tb.Fatalf("%s:%d: %q is not Key=Value inside a section", file, n, text)
		}
		key, value = strings.TrimSpace(key), expandSpecifiers(tb, file, n, strings.TrimSpace(value))
		if value == "" {
			u[section][key] = []string{}
			continue
		}
		u[section][key] = append(u[section][key], value)
	}
	return u
}

// expandSpecifiers expands the specifiers the example uses; any other one
// fails, so that the tests know every value the unit relies on.
func expandSpecifiers(tb testing.TB, file string, line int, s string) string {
	tb.Helper()
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 >= len(s) {
			tb.Fatalf("%s:%d: a lone %% at the end of %q", file, line, s)
		}
		i++
		switch s[i] {
		case 'H':
			b.WriteString(testHost)
		case '%':
			b.WriteByte('%')
		default:
			tb.Fatalf("%s:%d: specifier %%%c in %q is not known to the test", file, line, s[i], s)
		}
	}
	return b.String()
}

// get returns the value a single-valued setting ends with ("" when unset
// or reset), and whether it is set at all.
func (u unit) get(section, key string) (string, bool) {
	v, ok := u[section][key]
	if !ok || len(v) == 0 {
		return "", ok
	}
	return v[len(v)-1], true
}

// words is the space-separated union of a list setting's values.
func (u unit) words(section, key string) []string {
	var w []string
	for _, v := range u[section][key] {
		w = append(w, strings.Fields(v)...)
	}
	return w
}

// isTrue reads a systemd boolean.
func isTrue(v string) bool {
	switch strings.ToLower(v) {
	case "1", "yes", "y", "true", "t", "on":
		return true
	}
	return false
}

// systemdDuration parses a systemd time span ("45s", "1min 30s", "90",
// a bare number being seconds); ok is false for "infinity" or a bad value.
func systemdDuration(s string) (d time.Duration, ok bool) {
	units := map[string]time.Duration{
		"us": time.Microsecond, "usec": time.Microsecond, "ms": time.Millisecond, "msec": time.Millisecond,
		"": time.Second, "s": time.Second, "sec": time.Second, "second": time.Second, "seconds": time.Second,
		"m": time.Minute, "min": time.Minute, "minute": time.Minute, "minutes": time.Minute,
		"h": time.Hour, "hr": time.Hour, "hour": time.Hour, "hours": time.Hour,
	}
	parts := regexp.MustCompile(`\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)`).FindAllStringSubmatch(s, -1)
	if len(parts) == 0 || strings.Join(regexp.MustCompile(`\s+`).Split(s, -1), "") != strings.Join(flatten(parts), "") {
		return 0, false
	}
	for _, p := range parts {
		n, err := strconv.ParseFloat(p[1], 64)
		u, known := units[p[2]]
		if err != nil || !known {
			return 0, false
		}
		d += time.Duration(n * float64(u))
	}
	return d, true
}

func flatten(parts [][]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p[1]+p[2])
	}
	return out
}

// unitEnv is the environment systemd gives the service: the unit's
// Environment= assignments and the directories of ConfigurationDirectory=
// and StateDirectory= (system units: /etc and /var/lib).
func unitEnv(tb testing.TB, u unit) map[string]string {
	tb.Helper()
	env := map[string]string{}
	for _, v := range u["Service"]["Environment"] {
		for _, kv := range shellWords(tb, v, nil) {
			k, val, ok := strings.Cut(kv, "=")
			if !ok {
				tb.Fatalf("%s: Environment=%s: %q is not NAME=value", unitFile, v, kv)
			}
			env[k] = val
		}
	}
	if d, _ := u.get("Service", "ConfigurationDirectory"); d != "" {
		env["CONFIGURATION_DIRECTORY"] = path.Join("/etc", d)
	}
	if d, _ := u.get("Service", "StateDirectory"); d != "" {
		env["STATE_DIRECTORY"] = path.Join("/var/lib", d)
	}
	return env
}

// execStart is the unit's ExecStart= command line, as words.
func execStart(t *testing.T, u unit) []string {
	t.Helper()
	starts := u["Service"]["ExecStart"]
	if len(starts) != 1 {
		t.Fatalf("%s: %d ExecStart= lines, want 1 (Type=notify runs one main process)", unitFile, len(starts))
	}
	if strings.ContainsAny(starts[0][:1], "-@+!:") {
		t.Fatalf("%s: ExecStart=%s has a prefix; the agent needs none", unitFile, starts[0])
	}
	return shellWords(t, starts[0], nil)
}

// TestSystemdUnit checks the unit for VMs: readiness by sd_notify, reload
// by SIGHUP, a command line regagent accepts, the config where the README
// says, the state file in the unit's StateDirectory=, the sandbox, and a
// stop timeout above the agent's shutdown bound.
func TestSystemdUnit(t *testing.T) {
	u := parseUnit(t, unitFile)
	svc := func(key string) string { v, _ := u.get("Service", key); return v }

	if got := svc("Type"); got != "notify" {
		t.Errorf("Type=%s, want notify: the agent sends READY=1 once its routes are live", got)
	}
	if got, set := u.get("Service", "NotifyAccess"); set && got != "main" && got != "all" {
		t.Errorf("NotifyAccess=%s: the main process must be allowed to notify", got)
	}
	if got := svc("KillSignal"); got != "" && got != "SIGTERM" && got != "SIGINT" {
		t.Errorf("KillSignal=%s: the agent shuts down gracefully on SIGTERM or SIGINT only", got)
	}
	reload := shellWords(t, svc("ExecReload"), map[string]string{"MAINPID": "4242"})
	if len(reload) != 3 || path.Base(reload[0]) != "kill" || !path.IsAbs(reload[0]) ||
		(reload[1] != "-HUP" && reload[1] != "-SIGHUP") || reload[2] != "4242" {
		t.Errorf("ExecReload=%s; want /bin/kill -HUP $MAINPID (SIGHUP reloads the file)", svc("ExecReload"))
	}

	// The command line, the config and the state file.
	start := execStart(t, u)
	if !path.IsAbs(start[0]) || path.Base(start[0]) != "regagent" {
		t.Errorf("ExecStart runs %q; want an absolute path to regagent", start[0])
	}
	env := unitEnv(t, u)
	run := parseRunArgs(t, unitFile+": ExecStart", start[1:], env)
	if run.config != "/etc/regagent/registry.yaml" {
		t.Errorf("ExecStart reads %s; want /etc/regagent/registry.yaml", run.config)
	}
	if got := env["CONFIGURATION_DIRECTORY"]; got != path.Dir(run.config) {
		t.Errorf("ConfigurationDirectory= gives %q, but the config is in %s", got, path.Dir(run.config))
	}
	if got := svc("StateDirectory"); got != "regagent" {
		t.Errorf("StateDirectory=%s, want regagent", got)
	}
	// The file the unit's header says to install.
	cfg := parseConfig(t, "registry.yaml (with "+unitFile+"'s environment)", readFile(t, "registry.yaml"), 1, env)
	if cfg.Service.Instance != testHost {
		t.Errorf("service.instance is %q under the unit; want the host name (%%H), one per host, never a constant shared by VMs", cfg.Service.Instance)
	}
	if dir := stateDir(t, unitFile, run, cfg, env); dir != env["STATE_DIRECTORY"] {
		t.Errorf("the state file goes to %s, outside the unit's StateDirectory %s: ProtectSystem=strict makes it read-only", dir, env["STATE_DIRECTORY"])
	}

	// The sandbox.
	for key, want := range map[string]string{
		"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "NoNewPrivileges": "yes",
		"PrivateDevices": "yes", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
		"ProtectControlGroups": "yes", "RestrictSUIDSGID": "yes", "MemoryDenyWriteExecute": "yes",
		"LockPersonality": "yes", "RestrictNamespaces": "yes", "SystemCallArchitectures": "native",
	} {
		got := svc(key)
		if got != want && !(want == "yes" && isTrue(got)) {
			t.Errorf("%s=%s, want %s", key, got, want)
		}
	}
	if user := svc("User"); !isTrue(svc("DynamicUser")) && (user == "" || user == "root" || user == "0") {
		t.Errorf("the service runs as root; want DynamicUser=yes or a dedicated User=")
	}
	if caps, set := u.get("Service", "CapabilityBoundingSet"); !set || caps != "" {
		t.Errorf("CapabilityBoundingSet=%s (set: %v); want it empty: the agent needs no capability", caps, set)
	}
	if caps := svc("AmbientCapabilities"); caps != "" {
		t.Errorf("AmbientCapabilities=%s; want none", caps)
	}
	// AF_INET/AF_INET6: the registry and the status endpoint; AF_UNIX:
	// $NOTIFY_SOCKET; AF_NETLINK: net.InterfaceAddrs, which detects
	// ${SELF_IP}, reads the host's addresses over a netlink socket.
	families := u.words("Service", "RestrictAddressFamilies")
	for _, f := range families {
		if !slices.Contains([]string{"AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK"}, f) {
			t.Errorf("RestrictAddressFamilies allows %s, which the agent does not use", f)
		}
	}
	for _, f := range []string{"AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK"} {
		if !slices.Contains(families, f) {
			t.Errorf("RestrictAddressFamilies=%s lacks %s, which the agent needs", strings.Join(families, " "), f)
		}
	}
	for _, key := range []string{"ReadWritePaths", "ReadWriteDirectories"} {
		if v := u.words("Service", key); len(v) > 0 {
			t.Errorf("%s=%s: StateDirectory= already makes the only directory the agent writes writable", key, strings.Join(v, " "))
		}
	}

	// Restarts and stop timeout.
	if got := svc("Restart"); got != "on-failure" {
		t.Errorf("Restart=%s, want on-failure", got)
	}
	stop, ok := systemdDuration(svc("TimeoutStopSec"))
	if !ok {
		t.Fatalf("TimeoutStopSec=%q is not a finite time span", svc("TimeoutStopSec"))
	}
	drain := *cfg
	drain.Shutdown.Mode = config.ShutdownDrain
	for _, c := range []*config.Config{cfg, &drain} {
		if bound := shutdownBound(c); stop.Seconds() <= bound {
			t.Errorf("TimeoutStopSec=%v, but the shutdown may take %gs (mode %s, drain_timeout %v): systemd would kill the agent mid-way",
				stop, bound, c.Shutdown.Mode, c.Shutdown.DrainTimeout.D())
		}
	}

	// Start-up ordering and installation.
	for _, key := range []string{"Wants", "After"} {
		if !slices.Contains(u.words("Unit", key), "network-online.target") {
			t.Errorf("%s= lacks network-online.target: a file using ${SELF_IP} registers nothing while the host has no address", key)
		}
	}
	if !slices.Contains(u.words("Install", "WantedBy"), "multi-user.target") {
		t.Errorf("WantedBy=%v, want multi-user.target", u.words("Install", "WantedBy"))
	}
}

// TestSystemdUnitVerify has systemd itself check the unit (every key
// known, the commands executable), with ExecStart pointing at the binary
// the Dockerfile's command builds, and runs that binary's `run --help`
// with the unit's arguments: it parses them with the flags of `run`.
func TestSystemdUnitVerify(t *testing.T) {
	bin := buildLikeDocker(t)
	u := parseUnit(t, unitFile)
	start := execStart(t, u)

	// run's flag parser on the unit's arguments: -h after them prints the
	// usage and succeeds only if everything before it parsed.
	out, err := exec.Command(bin, append(start[1:], "-h")...).CombinedOutput()
	if err != nil || strings.Contains(string(out), "not defined") {
		t.Errorf("regagent %s -h: %v\n%s", strings.Join(start[1:], " "), err, out)
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("no systemd-analyze here")
	}
	text := strings.Replace(readFile(t, unitFile), "ExecStart="+start[0]+" ", "ExecStart="+bin+" ", 1)
	if !strings.Contains(text, bin) {
		t.Fatalf("cannot point ExecStart at the test binary")
	}
	file := filepath.Join(t.TempDir(), "regagent.service")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = exec.Command(analyze, "verify", "--man=no", file).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
