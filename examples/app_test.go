package examples_test

import (
	"fmt"
	"maps"
	"net/url"
	"os"
	"strings"
	"testing"
)

// exampleVars are values for every variable the shop examples' configs use.
var exampleVars = map[string]string{
	"REGISTRY_ADDR": "registry.test:9000", "POD_NAME": testPodName, "POD_NAMESPACE": "shop",
	"POD_IP": testPodIP, "AGENT_INSTANCE": "shop_regagent.1",
}

// appRoutes describes each route of a config by what the application
// behind it must match: domains, path, backend port and health check path.
func appRoutes(t *testing.T, where, text string) map[string]string {
	t.Helper()
	cfg := parseConfig(t, where, text, 1, exampleVars)
	out := map[string]string{}
	for _, r := range cfg.Routes {
		u, err := url.Parse(r.Backend)
		if err != nil {
			t.Fatalf("%s: route %s: %v", where, r.Name, err)
		}
		hc := ""
		if r.HealthCheck != nil {
			hc = r.HealthCheck.Path
		}
		out[r.Name] = fmt.Sprintf("domains=%s path=%s port=%s health=%s", strings.Join(r.Domains, ","), r.Path, u.Port(), hc)
	}
	return out
}

// TestExamplesServeTheSameApp: the Kubernetes, GitOps and Swarm examples
// deploy the same shop application, so its routes, and the port it
// listens on, are the same in each; a reader comparing them should find
// only the differences of the platforms.
func TestExamplesServeTheSameApp(t *testing.T) {
	want := appRoutes(t, "kubernetes/shop.yaml", kubernetesConfigText(t))
	for _, file := range []string{"gitops/registry.yaml", "swarm/registry.yaml"} {
		if got := appRoutes(t, file, readFile(t, file)); !maps.Equal(got, want) {
			t.Errorf("%s routes the app as\n\t%v\nbut kubernetes/shop.yaml as\n\t%v", file, got, want)
		}
	}
}

// TestReadmeListsExamples: the README's "Deploying" section links every
// example directory, so that a new one is not left undiscoverable.
func TestReadmeListsExamples(t *testing.T) {
	readme := readFile(t, "../README.md")
	_, deploying, ok := strings.Cut(readme, "\n## Deploying\n")
	if !ok {
		t.Fatal("README.md has no Deploying section")
	}
	deploying, _, _ = strings.Cut(deploying, "\n## ")
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() && e.Name() != "testdata" && !strings.Contains(deploying, "](examples/"+e.Name()) {
			t.Errorf("README.md's Deploying section does not link examples/%s", e.Name())
		}
	}
}
