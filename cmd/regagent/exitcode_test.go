package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestExitCodes checks the exit codes that scripts can only see as
// "non-zero": plan's 2 for pending changes is part of the interface.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ok := write("ok.yaml", "proxy: {address: \"r:9000\"}\nservice: {name: shop}\nroutes:\n"+
		"  - {name: web, domains: [a.example.com], path: /, backend: \"http://b:3000\"}\n")
	empty := write("empty.yaml", "proxy: {address: \"r:9000\"}\nservice: {name: shop}\nroutes: []\n")
	bad := write("bad.yaml", "proxy: {address: \"r:9000\"}\nservice: {name: shop}\n")

	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"validate", ok}, exitOK},
		{[]string{"validate", bad}, exitError},
		{[]string{"plan", "--from-empty", "-c", ok}, exitChanges},
		{[]string{"plan", "--from-empty", "-c", empty}, exitOK},
		{[]string{"plan", "--from-empty", "-c", bad}, exitError},
		{[]string{"plan", "-c", ok}, exitError},
		{[]string{"version"}, exitOK},
		{[]string{"validate", "-h"}, exitOK},
		{[]string{"nope"}, exitError},
	} {
		var stdout, stderr bytes.Buffer
		env := &environment{stdout: &stdout, stderr: &stderr, getenv: func(string) (string, bool) { return "", false }}
		got := exitCode(run(context.Background(), tc.args, env), &stderr)
		if got != tc.want {
			t.Errorf("regagent %v: exit %d, want %d\nstdout: %s\nstderr: %s", tc.args, got, tc.want, stdout.String(), stderr.String())
		}
	}
}
