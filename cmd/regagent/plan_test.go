package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"regagent/internal/config"
	"regagent/internal/reconcile"
)

const secretPlanFile = `proxy: {address: "registry:9000"}
service: {name: shop, instance: i1}
reload: {debounce: 10ms}
routes:
  - {name: web, domains: [shop.example.com], path: /, backend: "http://user:pa55word-xyz@b:3000"}
headers:
  Authorization: "Bearer abcdefgh"
  X-Tenant: ${TENANT}
`

var planSecrets = []string{"pa55word-xyz", "abcdefgh", "tenant-secret-77"}

// TestPlanMasksInterpolatedSecrets: a value that came from ${VAR} is masked
// wherever it sits, here a header whose name says nothing.
func TestPlanMasksInterpolatedSecrets(t *testing.T) {
	cfg, err := config.Parse(strings.NewReader(secretPlanFile), config.ParseOptions{Hostname: "h",
		Lookup: func(n string) (string, bool) { return "tenant-secret-77", n == "TENANT" }})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Secrets = []string{"tenant-secret-77"}
	_, text, _, err := planText(cfg, "10.0.0.1", reconcile.NewApplied(0))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range planSecrets {
		if strings.Contains(text, s) {
			t.Errorf("plan shows %q:\n%s", s, text)
		}
	}
	if !strings.Contains(text, "X-Tenant: xxxxx") || !strings.Contains(text, "http://user:xxxxx@b:3000") {
		t.Errorf("plan =\n%s", text)
	}
}

// TestPlanOfWhollySecretValues: a value that is wholly a secret is masked
// to "xxxxx", which is no URL and no duration. The plan still shows what
// would change: the file was checked by config.Parse, before masking, and
// the masked copy is only shown, never sent.
func TestPlanOfWhollySecretValues(t *testing.T) {
	doc := "proxy: {address: \"registry:9000\"}\nservice: {name: shop}\nroutes:\n" +
		"  - {name: web, domains: [shop.example.com], path: /, backend: \"${BACKEND}\"}\noptions: {timeout: \"${TIMEOUT}\"}\n"
	env := map[string]string{"BACKEND": "http://10.9.8.7:3000", "TIMEOUT": "300s"}
	cfg, err := config.Parse(strings.NewReader(doc), config.ParseOptions{Hostname: "h",
		Lookup: func(n string) (string, bool) { v, ok := env[n]; return v, ok }})
	if err != nil {
		t.Fatal(err)
	}
	c, text, masked, err := planText(cfg, "10.0.0.1", reconcile.NewApplied(0))
	if err != nil || c.Err != nil || !masked {
		t.Fatalf("planText: err=%v plan err=%v masked=%v\n%s", err, c.Err, masked, text)
	}
	if !strings.Contains(text, "+ route web shop.example.com/ -> xxxxx") || strings.Contains(text, "10.9.8.7") ||
		strings.Contains(text, "300s") {
		t.Errorf("plan =\n%s", text)
	}
}

// TestPlanAgainstMaskedStatus: the running agent's state document
// (/v1/state) is masked, and plan masks the file the same way, so an
// unchanged file plans no change and a changed one shows the change,
// masked.
func TestPlanAgainstMaskedStatus(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.yaml")
	if err := os.WriteFile(path, []byte(secretPlanFile), 0o644); err != nil {
		t.Fatal(err)
	}
	getenv := func(n string) (string, bool) { return "tenant-secret-77", n == "TENANT" }
	stdout, stderr := newSyncBuffer(), newSyncBuffer()
	env := &environment{stdout: stdout, stderr: stderr, getenv: getenv}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- exitCode(run(ctx, []string{"demo", "-c", path, "--log-format", "json", "--status-addr", "127.0.0.1:0"}, env), env.stderr)
	}()
	stdout.await(t, "live")
	addr := statusAddrFromLog(t, stderr.String())

	plan := func(file string) (int, string, string) {
		var out, errOut strings.Builder
		penv := &environment{stdout: &out, stderr: &errOut, getenv: getenv}
		code := exitCode(run(context.Background(), []string{"plan", "--status-addr", addr, "-c", file}, penv), &errOut)
		return code, out.String(), errOut.String()
	}
	code, out, errOut := plan(path)
	if code != exitOK || !strings.Contains(out, "No changes") {
		t.Fatalf("plan of the running file: exit %d\n%s%s", code, out, errOut)
	}
	changed := filepath.Join(filepath.Dir(path), "changed.yaml")
	body := strings.Replace(secretPlanFile, "@b:3000", "@c:3000", 1)
	if err := os.WriteFile(changed, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = plan(changed)
	if code != exitChanges || !strings.Contains(out, "backend http://user:xxxxx@b:3000 -> http://user:xxxxx@c:3000") {
		t.Fatalf("plan of a changed backend: exit %d\n%s%s", code, out, errOut)
	}
	// The agent and plan parse the file themselves: config.Parse lists
	// the interpolated X-Tenant value as a secret, so it is masked too.
	for _, s := range planSecrets {
		if strings.Contains(out+errOut+stderr.String()+stdout.String(), s) {
			t.Errorf("output shows %q", s)
		}
	}

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("demo exit %d\n%s", code, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("demo did not end after cancel")
	}
}

// statusAddrFromLog finds the status endpoint's address in JSON log lines.
func statusAddrFromLog(t *testing.T, logs string) string {
	t.Helper()
	for _, line := range strings.Split(logs, "\n") {
		var rec struct {
			Msg     string `json:"msg"`
			Address string `json:"address"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "status endpoint listening" {
			return rec.Address
		}
	}
	t.Fatalf("no status address in:\n%s", logs)
	return ""
}
