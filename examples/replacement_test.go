package examples_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"regagent/internal/registrysim"
)

// k8sConfigMap is the part of a ConfigMap the checks read.
type k8sConfigMap struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
}

// kubernetesConfigMap returns the Kubernetes example's ConfigMap holding
// the regagent config.
func kubernetesConfigMap(t *testing.T) k8sConfigMap {
	t.Helper()
	for _, doc := range yamlDocs(t, "kubernetes/shop.yaml") {
		var cm k8sConfigMap
		decodeNode(t, "kubernetes/shop.yaml", doc, &cm)
		if cm.Kind == "ConfigMap" && cm.Data["registry.yaml"] != "" {
			return cm
		}
	}
	t.Fatal("kubernetes/shop.yaml: no ConfigMap with registry.yaml")
	return k8sConfigMap{}
}

// kubernetesConfigText returns the regagent config of the Kubernetes
// example's ConfigMap.
func kubernetesConfigText(t *testing.T) string {
	t.Helper()
	return kubernetesConfigMap(t).Data["registry.yaml"]
}

// pod runs the example's agent as one pod of the Deployment would, against
// the simulated registry.
func pod(t *testing.T, bin, config, name, ip string, sim *registrysim.Server) *exec.Cmd {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "registry.yaml"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "-c", filepath.Join(dir, "registry.yaml"), "--log-format", "json")
	// Each pod has its own state directory, as the example's emptyDir.
	cmd.Env = append(os.Environ(), "POD_NAME="+name, "POD_IP="+ip, "POD_NAMESPACE=shop", "REGISTRY_ADDR="+sim.Addr(),
		"STATE_DIRECTORY="+t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

func stopPod(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("agent exited with %v after SIGTERM", err)
	}
}

// waitBackend waits until shop.example.com/ resolves to want ("" = no route).
func waitBackend(t *testing.T, sim *registrysim.Server, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := sim.Resolve("shop.example.com", "/").Backend
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("shop.example.com/ goes to %q, want %q", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitOnlySession waits until the registry holds one session, connected.
func waitOnlySession(t *testing.T, sim *registrysim.Server) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ss := sim.Sessions()
		if len(ss) == 1 && ss[0].Connected {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sessions %+v, want only the new pod's", ss)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReplacementOrder runs the Kubernetes example's agent through a pod
// replacement against the simulated registry. Replaced the way the example
// says (Recreate: the old pod deregisters, then the new one registers), the
// new pod's routes are served. The other order, which the README warns
// against, ends with no route at all: the old pod's deregistration removes
// the routes the new pod added for the same domain and path.
func TestReplacementOrder(t *testing.T) {
	t.Parallel()
	bin := buildLikeDocker(t)
	config := kubernetesConfigText(t)
	const oldIP, newIP = "10.244.1.17", "10.244.2.9"

	t.Run("Recreate", func(t *testing.T) {
		sim := registrysim.New(registrysim.Options{Grace: 200 * time.Millisecond})
		if err := sim.Start(); err != nil {
			t.Fatal(err)
		}
		defer sim.Close()
		old := pod(t, bin, config, "shop-old", oldIP, sim)
		waitBackend(t, sim, "http://"+oldIP+":8080")
		stopPod(t, old)
		waitBackend(t, sim, "")
		pod(t, bin, config, "shop-new", newIP, sim)
		waitBackend(t, sim, "http://"+newIP+":8080")
		// Once the new pod's session is the only one, nothing of the old
		// one (in its grace, §7) can still remove a route.
		waitOnlySession(t, sim)
		waitBackend(t, sim, "http://"+newIP+":8080")
	})

	t.Run("RollingUpdate", func(t *testing.T) {
		sim := registrysim.New(registrysim.Options{Grace: 200 * time.Millisecond})
		if err := sim.Start(); err != nil {
			t.Fatal(err)
		}
		defer sim.Close()
		old := pod(t, bin, config, "shop-old", oldIP, sim)
		waitBackend(t, sim, "http://"+oldIP+":8080")
		pod(t, bin, config, "shop-new", newIP, sim)
		waitBackend(t, sim, "http://"+newIP+":8080")
		stopPod(t, old)
		waitBackend(t, sim, "")
	})
}
