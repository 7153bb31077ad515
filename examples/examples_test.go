// Package examples_test keeps the deployment examples honest: every
// regagent config embedded in them is extracted and validated with the
// agent's own parser, the manifests are parsed and checked for the
// pitfalls the README warns about, the Dockerfile's build command is run,
// and the CI job's steps are run against the example repository.
package examples_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gopkg.in/yaml.v3"

	"regagent/internal/config"
)

// testSelfIP is what ${SELF_IP} renders to in these tests.
const testSelfIP = "10.1.2.3"

var binary struct {
	once sync.Once
	dir  string // removed by TestMain
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binary.dir != "" {
		os.RemoveAll(binary.dir)
	}
	os.Exit(code)
}

// yamlDocs parses every document of a YAML file (a "---" separated stream).
func yamlDocs(tb testing.TB, path string) []*yaml.Node {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		docs = append(docs, &n)
	}
	if len(docs) == 0 {
		tb.Fatalf("%s: no YAML document", path)
	}
	return docs
}

// readFile returns a file's content as a string.
func readFile(tb testing.TB, name string) string {
	tb.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	return string(data)
}

// decodeNode decodes n into v, failing the test on a type mismatch.
func decodeNode(tb testing.TB, where string, n *yaml.Node, v any) {
	tb.Helper()
	if err := n.Decode(v); err != nil {
		tb.Fatalf("%s: %v", where, err)
	}
}

// TestYAMLParses parses every YAML file under the example directories, so
// that even the ones no other test reads in depth cannot rot.
func TestYAMLParses(t *testing.T) {
	var files []string
	for _, dir := range []string{"swarm", "kubernetes", "gitops"} {
		for _, ext := range []string{"*.yaml", "*.yml"} {
			m, err := filepath.Glob(filepath.Join(dir, ext))
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, m...)
		}
	}
	if len(files) < 6 {
		t.Fatalf("found %d YAML files in the examples (%v), want at least 6", len(files), files)
	}
	for _, f := range files {
		for i, doc := range yamlDocs(t, f) {
			if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
				t.Errorf("%s: document %d is not a mapping", f, i+1)
			}
		}
	}
}

// parseConfig validates an embedded regagent config with the agent's own
// parser. vars are the variables the deployment provides (SELF_IP is
// added). line is the line of the file where text starts, so that errors
// point into the manifest.
func parseConfig(tb testing.TB, where string, text string, line int, vars map[string]string) *config.Config {
	tb.Helper()
	lookup := func(name string) (string, bool) {
		if name == "SELF_IP" {
			return testSelfIP, true
		}
		v, ok := vars[name]
		return v, ok
	}
	cfg, err := config.Parse(strings.NewReader(text), config.ParseOptions{Filename: where, Lookup: lookup, Hostname: "test-host"})
	if err != nil {
		var es config.Errors
		if !errors.As(err, &es) {
			tb.Fatalf("%s: %v", where, err)
		}
		var b strings.Builder
		for _, e := range es {
			fmt.Fprintf(&b, "\n\t%s:%d:%d: %s: %s", where, e.Line+line-1, e.Col, e.Path, e.Msg)
		}
		tb.Fatalf("invalid regagent config (lines are the manifest's):%s", b.String())
	}
	return cfg
}

// shutdownBound is how long the agent may take to stop after SIGTERM: 10 s,
// plus the drain timeout in drain mode (README, "Operations").
func shutdownBound(cfg *config.Config) float64 {
	bound := 10.0
	if cfg.Shutdown.Mode == config.ShutdownDrain {
		bound += cfg.Shutdown.DrainTimeout.D().Seconds()
	}
	return bound
}

// checkShutdown guards the README's advice for platforms that replace
// instances: deregister or drain, never keep (the routes of a dropped
// session are removed by domain+path when its grace ends, the replacement's
// included), and a kill deadline above the agent's own bound.
func checkShutdown(t *testing.T, where string, cfg *config.Config, graceSeconds float64) {
	t.Helper()
	if cfg.Shutdown.Mode == config.ShutdownKeep {
		t.Errorf("%s: shutdown.mode is keep; a replaced instance must deregister or drain", where)
	}
	if bound := shutdownBound(cfg); graceSeconds <= bound {
		t.Errorf("%s: the platform kills the agent after %gs, but its shutdown may take %gs (mode %s)", where, graceSeconds, bound, cfg.Shutdown.Mode)
	}
}

// runArgs is the part of a regagent command line the examples care about.
type runArgs struct {
	config     string // -c, with the README's defaults applied
	statusAddr string // --status-addr
	stateFile  string // --state-file
}

// parseRunArgs reads a `regagent run` argument list (as the image's
// ENTRYPOINT receives it) the way the flag package would.
func parseRunArgs(tb testing.TB, where string, args []string, env map[string]string) runArgs {
	tb.Helper()
	if len(args) == 0 || args[0] != "run" {
		tb.Fatalf("%s: args %q do not start with the run command", where, args)
	}
	var r runArgs
	for i := 1; i < len(args); i++ {
		if !strings.HasPrefix(args[i], "-") {
			tb.Fatalf("%s: unexpected argument %q in %q", where, args[i], args)
		}
		flag := args[i]
		name, value, hasValue := strings.Cut(strings.TrimLeft(flag, "-"), "=")
		if !hasValue {
			if i+1 >= len(args) {
				tb.Fatalf("%s: flag %s has no value in %q", where, args[i], args)
			}
			i++
			value = args[i]
		}
		switch name {
		case "c":
			r.config = value
		case "status-addr":
			r.statusAddr = value
		case "state-file":
			r.stateFile = value
		case "proxy", "log-format", "log-level":
		default:
			tb.Fatalf("%s: unknown run flag %q", where, flag)
		}
	}
	if r.config == "" {
		r.config = env["REGAGENT_CONFIG"]
	}
	if r.config == "" {
		tb.Fatalf("%s: no -c and no REGAGENT_CONFIG: the default ./registry.yaml depends on the working directory", where)
	}
	return r
}

// stateDir is the directory of the state file the agent of a deployment
// uses, resolved as the README says: --state-file, else state.file, else
// $STATE_DIRECTORY (its first path), else /var/lib/regagent. A deployment
// without a state file fails: a restarted agent could not remove what its
// predecessor left on the proxy.
func stateDir(tb testing.TB, where string, run runArgs, cfg *config.Config, env map[string]string) string {
	tb.Helper()
	file := run.stateFile
	if file == "" {
		file = cfg.State.File
	}
	switch {
	case file == "off":
		tb.Fatalf("%s: the state file is off; a restarted agent could not clean up after its predecessor", where)
	case file != "":
		return path.Dir(file)
	}
	if dirs := env["STATE_DIRECTORY"]; dirs != "" {
		dir, _, _ := strings.Cut(dirs, ":")
		return path.Clean(dir)
	}
	return "/var/lib/regagent"
}
