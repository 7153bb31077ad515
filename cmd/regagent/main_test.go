package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets testscript run this package's main as the regagent command
// inside scripts, and builds nothing else.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"regagent": main,
	})
}

// TestScripts runs the CLI scripts in testdata/script: exit codes, messages
// and output of validate, plan, status, schema and version. The "agent"
// command runs an agent in this process for status and plan to read.
func TestScripts(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	testscript.Run(t, testscript.Params{
		Dir:  "testdata/script",
		Cmds: map[string]func(*testscript.TestScript, bool, []string){"agent": cmdAgent},
		Setup: func(env *testscript.Env) error {
			env.Values[scriptAgentKey{}] = &scriptAgent{}
			// The checked-in schema and example, for comparisons.
			for _, f := range []string{"schema/registry.schema.json", "examples/registry.yaml"} {
				b, err := os.ReadFile(filepath.Join(root, f))
				if err != nil {
					return err
				}
				if err := os.WriteFile(filepath.Join(env.WorkDir, filepath.Base(f)), b, 0o644); err != nil {
					return err
				}
			}
			env.Setenv("SELF_IP", "10.1.2.3")
			// Under -race, each command run would otherwise wait a second
			// at exit (the race runtime's default atexit_sleep_ms).
			env.Setenv("GORACE", "atexit_sleep_ms=0")
			return nil
		},
	})
}
