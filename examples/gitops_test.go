package examples_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// workflow is the part of a GitHub Actions workflow the checks read.
type workflow struct {
	Jobs map[string]struct {
		Env   map[string]string `yaml:"env"`
		Steps []struct {
			ID   string `yaml:"id"`
			Uses string `yaml:"uses"`
			Run  string `yaml:"run"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

// gitopsRepo copies the example repository (registry.yaml and the files
// next to it) into a temporary directory, with edit applied to
// registry.yaml, and returns it.
func gitopsRepo(t *testing.T, edit func(string) string) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"registry.yaml", "kustomization.yaml"} {
		text := readFile(t, filepath.Join("gitops", name))
		if name == "registry.yaml" && edit != nil {
			text = edit(text)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runStep runs the `run:` script of the CI step with the given id the way
// GitHub Actions does (bash -e, the job's env, RUNNER_TEMP holding the
// regagent binary the build step makes) in repo.
func runStep(t *testing.T, repo, id string) (output string, err error) {
	t.Helper()
	var wf workflow
	decodeNode(t, "gitops/github-actions.yml", yamlDocs(t, "gitops/github-actions.yml")[0], &wf)
	bin := buildLikeDocker(t)
	for _, job := range wf.Jobs {
		for _, s := range job.Steps {
			if s.ID != id {
				continue
			}
			runnerTemp := t.TempDir()
			if err := os.Symlink(bin, filepath.Join(runnerTemp, "regagent")); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", s.Run)
			cmd.Dir = repo
			cmd.Env = append(os.Environ(), "RUNNER_TEMP="+runnerTemp, "GITHUB_STEP_SUMMARY="+filepath.Join(runnerTemp, "summary.md"))
			for k, v := range job.Env {
				cmd.Env = append(cmd.Env, k+"="+v)
			}
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
	}
	t.Fatalf("gitops/github-actions.yml has no step with id %s", id)
	return "", nil
}

// TestGitopsConfig validates the example repository's registry.yaml with
// the variables the CI job sets, and checks the one-line maintenance
// commit the README shows: flipping `enabled: false` turns maintenance on.
func TestGitopsConfig(t *testing.T) {
	var wf workflow
	decodeNode(t, "gitops/github-actions.yml", yamlDocs(t, "gitops/github-actions.yml")[0], &wf)
	if len(wf.Jobs) != 1 {
		t.Fatalf("the workflow has %d jobs, want 1", len(wf.Jobs))
	}
	var env map[string]string
	for _, j := range wf.Jobs {
		env = j.Env
	}
	text := readFile(t, "gitops/registry.yaml")
	if cfg := parseConfig(t, "gitops/registry.yaml", text, 1, env); cfg.Maintenance.Enabled {
		t.Fatal("maintenance is already on in gitops/registry.yaml")
	}
	if n := strings.Count(text, "  enabled: false\n"); n != 1 {
		t.Fatalf("gitops/registry.yaml has %d `enabled: false` lines, want the one maintenance switch", n)
	}
	on := strings.Replace(text, "  enabled: false\n", "  enabled: true\n", 1)
	if cfg := parseConfig(t, "gitops/registry.yaml (maintenance on)", on, 1, env); !cfg.Maintenance.Enabled {
		t.Error("the one-line commit did not turn maintenance on")
	}
	readme := readFile(t, "gitops/README.md")
	for _, want := range []string{"-  enabled: false\n", "+  enabled: true\n"} {
		if !strings.Contains(readme, want) {
			t.Errorf("gitops/README.md does not show the maintenance commit line %q", want)
		}
	}

	var k struct {
		ConfigMapGenerator []struct {
			Name    string   `yaml:"name"`
			Files   []string `yaml:"files"`
			Options struct {
				DisableNameSuffixHash bool `yaml:"disableNameSuffixHash"`
			} `yaml:"options"`
		} `yaml:"configMapGenerator"`
	}
	decodeNode(t, "gitops/kustomization.yaml", yamlDocs(t, "gitops/kustomization.yaml")[0], &k)
	if len(k.ConfigMapGenerator) != 1 || len(k.ConfigMapGenerator[0].Files) != 1 || k.ConfigMapGenerator[0].Files[0] != "registry.yaml" {
		t.Fatalf("kustomization.yaml should generate one ConfigMap from registry.yaml: %+v", k.ConfigMapGenerator)
	}
	g := k.ConfigMapGenerator[0]
	if !g.Options.DisableNameSuffixHash {
		t.Error("kustomization.yaml: without disableNameSuffixHash every change is a new ConfigMap and a pod restart")
	}
	if !strings.Contains(readFile(t, "kubernetes/shop.yaml"), "name: "+g.Name+"\n") {
		t.Errorf("kustomization.yaml generates ConfigMap %s, which kubernetes/shop.yaml does not mount", g.Name)
	}
}

// TestGitopsCISteps runs the CI job's validate and plan steps on the
// example repository: they pass on the valid file (plan's exit code 2,
// "changes", included), and validate fails an invalid one with the
// compiler-style position the README promises.
func TestGitopsCISteps(t *testing.T) {
	repo := gitopsRepo(t, nil)
	if out, err := runStep(t, repo, "validate"); err != nil {
		t.Fatalf("validate step failed on the example file: %v\n%s", err, out)
	}
	out, err := runStep(t, repo, "plan")
	if err != nil {
		t.Fatalf("plan step failed on the example file: %v\n%s", err, out)
	}
	plan := readFile(t, filepath.Join(repo, "plan.txt"))
	for _, want := range []string{"web", "api", "shop.example.com"} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan.txt does not mention %q:\n%s", want, plan)
		}
	}

	bad := gitopsRepo(t, func(s string) string { return strings.Replace(s, "path: /v1", "path: v1", 1) })
	out, err = runStep(t, bad, "validate")
	if err == nil {
		t.Fatalf("validate step passed an invalid file:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^registry\.yaml:\d+:\d+: routes\[1\]\.path: `).MatchString(out) {
		t.Errorf("validate step output has no file:line:col: path: message:\n%s", out)
	}
	// The README's example message is the real one.
	readme := readFile(t, "gitops/README.md")
	if m := regexp.MustCompile(`(?m)^registry\.yaml:\d+:\d+: .*$`).FindString(out); m == "" || !strings.Contains(readme, m) {
		t.Errorf("gitops/README.md does not show the message validate prints: %q", m)
	}
	if out, err := runStep(t, bad, "plan"); err == nil {
		t.Errorf("plan step passed an invalid file:\n%s", out)
	}
}
