package examples_test

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// workflow is the part of a GitHub Actions workflow the checks read.
type workflow struct {
	Jobs map[string]struct {
		Env   map[string]string `yaml:"env"`
		Steps []struct {
			ID   string            `yaml:"id"`
			Uses string            `yaml:"uses"`
			With map[string]string `yaml:"with"`
			Run  string            `yaml:"run"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
	On map[string]struct {
		Paths []string `yaml:"paths"`
	} `yaml:"on"`
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
	runnerTemp := t.TempDir()
	if err := os.Symlink(buildLikeDocker(t), filepath.Join(runnerTemp, "regagent")); err != nil {
		t.Fatal(err)
	}
	return runStepIn(t, repo, runnerTemp, id)
}

// runStepIn is runStep with the runner's temporary directory given.
func runStepIn(t *testing.T, repo, runnerTemp, id string) (output string, err error) {
	t.Helper()
	var wf workflow
	decodeNode(t, "gitops/github-actions.yml", yamlDocs(t, "gitops/github-actions.yml")[0], &wf)
	for _, job := range wf.Jobs {
		for _, s := range job.Steps {
			if s.ID != id {
				continue
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
				Labels                map[string]string `yaml:"labels"`
				DisableNameSuffixHash bool              `yaml:"disableNameSuffixHash"`
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
	// The same ConfigMap as kubernetes/shop.yaml's: both may be applied
	// to one namespace, and two contents under one name would undo each
	// other's changes.
	cm := kubernetesConfigMap(t)
	if g.Name != cm.Metadata.Name {
		t.Errorf("kustomization.yaml generates ConfigMap %s, but kubernetes/shop.yaml mounts %s", g.Name, cm.Metadata.Name)
	}
	if !maps.Equal(g.Options.Labels, cm.Metadata.Labels) {
		t.Errorf("kustomization.yaml labels the ConfigMap %v, kubernetes/shop.yaml %v", g.Options.Labels, cm.Metadata.Labels)
	}
	if cm.Data["registry.yaml"] != text {
		t.Errorf("kubernetes/shop.yaml's registry.yaml is not gitops/registry.yaml:\n%s", lineDiff(cm.Data["registry.yaml"], text))
	}
}

// TestGitopsKustomize has kustomize build the example and compares its
// ConfigMap with kubernetes/shop.yaml's, as Argo CD or Flux would apply it.
func TestGitopsKustomize(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("no kubectl here")
	}
	out, err := exec.Command(kubectl, "kustomize", "gitops").Output()
	if err != nil {
		t.Fatalf("kubectl kustomize gitops: %v", err)
	}
	file := filepath.Join(t.TempDir(), "kustomized.yaml")
	if err := os.WriteFile(file, out, 0o644); err != nil {
		t.Fatal(err)
	}
	docs := yamlDocs(t, file)
	if len(docs) != 1 {
		t.Fatalf("kustomize built %d objects, want the ConfigMap:\n%s", len(docs), out)
	}
	var got k8sConfigMap
	decodeNode(t, "kustomize output", docs[0], &got)
	want := kubernetesConfigMap(t)
	if got.Kind != "ConfigMap" || got.Metadata.Name != want.Metadata.Name || !maps.Equal(got.Metadata.Labels, want.Metadata.Labels) || !maps.Equal(got.Data, want.Data) {
		t.Errorf("kustomize builds a ConfigMap unlike kubernetes/shop.yaml's:\n%s", out)
	}
}

// lineDiff shows the first line where a and b differ.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range max(len(al), len(bl)) {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d: %q vs %q", i+1, x, y)
		}
	}
	return "no difference"
}

// TestGitopsBuildsPinnedRegagent: the CI job builds regagent from a
// source the repository pins (a submodule checked out with it), not from
// a tag that may not exist. The build step is run with that directory
// being this module, and its binary runs the validate step.
func TestGitopsBuildsPinnedRegagent(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds regagent; skipped with -short")
	}
	var wf workflow
	decodeNode(t, "gitops/github-actions.yml", yamlDocs(t, "gitops/github-actions.yml")[0], &wf)
	submodules, goMod, build := false, "", ""
	for _, job := range wf.Jobs {
		for _, s := range job.Steps {
			action, _, _ := strings.Cut(s.Uses, "@")
			switch action {
			case "actions/checkout":
				if r := s.With["repository"]; r != "" {
					t.Errorf("a checkout step fetches %s: the regagent source must come with this repository, pinned by it", r)
				}
				if ref := s.With["ref"]; ref != "" && !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(ref) {
					t.Errorf("a checkout step checks out %q, not a commit", ref)
				}
				submodules = submodules || s.With["submodules"] == "true" || s.With["submodules"] == "recursive"
			case "actions/setup-go":
				goMod = s.With["go-version-file"]
			}
			if s.ID == "build" {
				build = s.Run
			}
		}
	}
	if !submodules {
		t.Error("no checkout step fetches the submodules: there would be no regagent source to build")
	}
	m := regexp.MustCompile(`go -C (\S+) build `).FindStringSubmatch(build)
	if m == nil {
		t.Fatalf("the build step %q does not build with go -C DIR", build)
	}
	src := m[1]
	if goMod != src+"/go.mod" {
		t.Errorf("setup-go reads the Go version from %q, but the build is in %s", goMod, src)
	}
	for event, on := range wf.On {
		if !slices.Contains(on.Paths, src) {
			t.Errorf("on %s: paths %v lack %s; moving regagent to another version would not be checked", event, on.Paths, src)
		}
	}

	repo := gitopsRepo(t, nil)
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(root, filepath.Join(repo, src)); err != nil {
		t.Fatal(err)
	}
	runnerTemp := t.TempDir()
	if out, err := runStepIn(t, repo, runnerTemp, "build"); err != nil {
		t.Fatalf("build step: %v\n%s", err, out)
	}
	if out, err := runStepIn(t, repo, runnerTemp, "validate"); err != nil {
		t.Fatalf("validate step with the built regagent: %v\n%s", err, out)
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
