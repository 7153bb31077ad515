package examples_test

import (
	"net"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"regagent/internal/config"
)

// The parts of the Kubernetes objects the checks read.
type (
	k8sObject struct {
		Kind     string `yaml:"kind"`
		Metadata struct {
			Name string `yaml:"name"`
		} `yaml:"metadata"`
	}
	k8sDeployment struct {
		Spec struct {
			Replicas *int `yaml:"replicas"`
			Strategy struct {
				Type string `yaml:"type"`
			} `yaml:"strategy"`
			Template struct {
				Spec k8sPodSpec `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	k8sPodSpec struct {
		TerminationGracePeriodSeconds *int           `yaml:"terminationGracePeriodSeconds"`
		Containers                    []k8sContainer `yaml:"containers"`
		InitContainers                []k8sContainer `yaml:"initContainers"`
		Volumes                       []struct {
			Name      string `yaml:"name"`
			ConfigMap *struct {
				Name  string `yaml:"name"`
				Items []any  `yaml:"items"`
			} `yaml:"configMap"`
			EmptyDir              *struct{} `yaml:"emptyDir"`
			PersistentVolumeClaim *struct{} `yaml:"persistentVolumeClaim"`
		} `yaml:"volumes"`
	}
	k8sContainer struct {
		Name    string   `yaml:"name"`
		Image   string   `yaml:"image"`
		Command []string `yaml:"command"`
		Args    []string `yaml:"args"`
		Env     []struct {
			Name      string `yaml:"name"`
			Value     string `yaml:"value"`
			ValueFrom *struct {
				FieldRef *struct {
					FieldPath string `yaml:"fieldPath"`
				} `yaml:"fieldRef"`
			} `yaml:"valueFrom"`
		} `yaml:"env"`
		Ports     []k8sPort `yaml:"ports"`
		Lifecycle *struct {
			PreStop *struct {
				Sleep *struct {
					Seconds int `yaml:"seconds"`
				} `yaml:"sleep"`
				Exec *struct {
					Command []string `yaml:"command"`
				} `yaml:"exec"`
			} `yaml:"preStop"`
		} `yaml:"lifecycle"`
		ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
		LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
		Resources      struct {
			Requests map[string]string `yaml:"requests"`
			Limits   map[string]string `yaml:"limits"`
		} `yaml:"resources"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
			SubPath   string `yaml:"subPath"`
			ReadOnly  bool   `yaml:"readOnly"`
		} `yaml:"volumeMounts"`
	}
	k8sPort struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	}
	k8sProbe struct {
		HTTPGet *struct {
			Path string    `yaml:"path"`
			Port yaml.Node `yaml:"port"`
		} `yaml:"httpGet"`
	}
)

// Values the downward API gives in the tests.
const (
	testPodIP   = "10.244.1.17"
	testPodName = "shop-6d4cf56db6-x7k2p"
)

var downwardAPI = map[string]string{
	"status.podIP":       testPodIP,
	"metadata.name":      testPodName,
	"metadata.namespace": "shop",
	"spec.nodeName":      "node-1",
}

// TestKubernetesSidecar checks every Deployment's regagent container
// against its ConfigMap: the config is mounted as a directory (not
// subPath, which never updates), is valid with exactly the variables the
// container's env provides, routes to the pod's own IP, uses the pod name
// as the instance, has its status endpoint reachable by the kubelet's
// probes, and shuts down within the pod's grace period.
func TestKubernetesSidecar(t *testing.T) {
	const file = "kubernetes/shop.yaml"
	configMaps := map[string]*yaml.Node{} // name → data mapping
	var deployments []k8sDeployment
	for _, doc := range yamlDocs(t, file) {
		var obj k8sObject
		decodeNode(t, file, doc, &obj)
		switch obj.Kind {
		case "ConfigMap":
			var cm struct {
				Data yaml.Node `yaml:"data"`
			}
			decodeNode(t, file, doc, &cm)
			configMaps[obj.Metadata.Name] = &cm.Data
		case "Deployment":
			var d k8sDeployment
			decodeNode(t, file, doc, &d)
			deployments = append(deployments, d)
		}
	}
	if len(deployments) == 0 {
		t.Fatalf("%s has no Deployment", file)
	}

	agents := 0
	for _, d := range deployments {
		pod := d.Spec.Template.Spec
		if slices.ContainsFunc(pod.InitContainers, isAgent) {
			t.Errorf("%s: regagent is an init container: native sidecars stop after the application, so its routes would outlive it", file)
		}
		for _, c := range pod.Containers {
			if !isAgent(c) {
				continue
			}
			agents++
			where := file + ": container " + c.Name
			env := map[string]string{}
			for _, e := range c.Env {
				switch {
				case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil:
					v, ok := downwardAPI[e.ValueFrom.FieldRef.FieldPath]
					if !ok {
						t.Fatalf("%s: env %s: no test value for fieldPath %s", where, e.Name, e.ValueFrom.FieldRef.FieldPath)
					}
					env[e.Name] = v
				case e.ValueFrom == nil:
					env[e.Name] = e.Value
				}
			}
			if len(c.Command) > 0 {
				t.Errorf("%s: command overrides the image's ENTRYPOINT [\"regagent\"]; set args only", where)
			}
			run := parseRunArgs(t, where, c.Args, env)

			// The config: a ConfigMap key, in a directory mount.
			dir, key := path.Split(run.config)
			dir = path.Clean(dir)
			var volume string
			for _, m := range c.VolumeMounts {
				switch {
				case m.MountPath == run.config && m.SubPath != "":
					t.Errorf("%s: %s is mounted with subPath %s: it would never see an update", where, run.config, m.SubPath)
				case path.Clean(m.MountPath) == dir:
					if m.SubPath != "" {
						t.Errorf("%s: the config directory is mounted with subPath: it would never see an update", where)
					}
					volume = m.Name
				}
			}
			if volume == "" {
				t.Fatalf("%s: no volume is mounted at %s, the directory of -c %s", where, dir, run.config)
			}
			var cmName string
			for _, v := range pod.Volumes {
				if v.Name == volume && v.ConfigMap != nil {
					if len(v.ConfigMap.Items) > 0 {
						t.Errorf("%s: volume %s selects items; mount the whole ConfigMap", where, v.Name)
					}
					cmName = v.ConfigMap.Name
				}
			}
			data := configMaps[cmName]
			if data == nil {
				t.Fatalf("%s: volume %s is not a ConfigMap of %s", where, volume, file)
			}
			var text *yaml.Node
			for i := 0; i+1 < len(data.Content); i += 2 {
				if data.Content[i].Value == key {
					text = data.Content[i+1]
				}
			}
			if text == nil {
				t.Fatalf("%s: ConfigMap %s has no key %s", where, cmName, key)
			}
			// A block scalar (|) starts on the line after its indicator.
			cfg := parseConfig(t, file+": ConfigMap "+cmName+": "+key, text.Value, text.Line+1, env)

			for _, r := range cfg.Routes {
				u, err := url.Parse(r.Backend)
				if err != nil || u.Hostname() != testPodIP {
					t.Errorf("%s: route %s goes to %s; want this pod's IP (POD_IP from the downward API)", where, r.Name, r.Backend)
				}
				if err == nil && !slices.ContainsFunc(pod.Containers, func(app k8sContainer) bool {
					return !isAgent(app) && hasPort(app, u.Port())
				}) {
					t.Errorf("%s: route %s goes to port %s, which no application container of the pod declares", where, r.Name, u.Port())
				}
			}
			if cfg.Service.Instance != testPodName {
				t.Errorf("%s: service.instance is %q; want the pod name (metadata.name), unique per replica", where, cfg.Service.Instance)
			}

			// The state file: a writable volume that outlives the
			// container (a restart after a crash or an OOM kill) as long
			// as the instance name it belongs to, the pod name, does.
			sdir := stateDir(t, where, run, cfg, env)
			stateVolume := ""
			for _, m := range c.VolumeMounts {
				if path.Clean(m.MountPath) == sdir && m.SubPath == "" {
					if m.ReadOnly {
						t.Errorf("%s: the state directory %s is mounted read-only", where, sdir)
					}
					stateVolume = m.Name
				}
			}
			if stateVolume == "" {
				t.Errorf("%s: no volume is mounted at the state directory %s (readOnlyRootFilesystem leaves nothing else writable)", where, sdir)
			}
			for _, v := range pod.Volumes {
				if v.Name == stateVolume && v.EmptyDir == nil && v.PersistentVolumeClaim == nil {
					t.Errorf("%s: the state volume %s is neither an emptyDir nor a persistentVolumeClaim", where, v.Name)
				}
			}

			// The status endpoint and the probes.
			addr := run.statusAddr
			if addr == "" {
				addr = cfg.Status.Address
			}
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				t.Fatalf("%s: status address %q: %v (the probes need the endpoint)", where, addr, err)
			}
			if host != "0.0.0.0" && host != testPodIP {
				t.Errorf("%s: the status endpoint binds %q; the kubelet probes the pod IP, so bind 0.0.0.0 or ${POD_IP}", where, addr)
			}
			for _, p := range []struct {
				name  string
				probe *k8sProbe
				path  string
			}{{"readinessProbe", c.ReadinessProbe, "/readyz"}, {"livenessProbe", c.LivenessProbe, "/healthz"}} {
				if p.probe == nil || p.probe.HTTPGet == nil {
					t.Errorf("%s: no %s.httpGet", where, p.name)
					continue
				}
				if p.probe.HTTPGet.Path != p.path {
					t.Errorf("%s: %s probes %s, want %s", where, p.name, p.probe.HTTPGet.Path, p.path)
				}
				if got := probePort(c, p.probe.HTTPGet.Port.Value); got != port {
					t.Errorf("%s: %s probes port %q (%s), but the status endpoint listens on %s", where, p.name, p.probe.HTTPGet.Port.Value, got, port)
				}
			}

			// Shutdown: the pattern is one pod per domain+path, replaced
			// by Recreate, and the kubelet waits for the agent's bound.
			grace := 30 // the Kubernetes default
			if pod.TerminationGracePeriodSeconds != nil {
				grace = *pod.TerminationGracePeriodSeconds
			}
			checkShutdown(t, where, cfg, float64(grace))
			checkPreStop(t, file, pod, c, cfg, grace)
			if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
				t.Errorf("%s: the Deployment does not have replicas: 1; pods registering the same domain+path evict each other's routes", where)
			}
			if d.Spec.Strategy.Type != "Recreate" {
				t.Errorf("%s: strategy is %q; a rolling update lets the old pod's deregistration remove the new pod's routes, want Recreate", where, d.Spec.Strategy.Type)
			}

			if c.Resources.Requests["cpu"] == "" {
				t.Errorf("%s: no cpu request", where)
			}
			req, limit := memQuantity(c.Resources.Requests["memory"]), memQuantity(c.Resources.Limits["memory"])
			if req < 2*measuredIdleRSS {
				t.Errorf("%s: memory request %q is less than twice the measured idle footprint (%d MiB)", where, c.Resources.Requests["memory"], measuredIdleRSS>>20)
			}
			if limit < req {
				t.Errorf("%s: memory limit %q is below the request %q", where, c.Resources.Limits["memory"], c.Resources.Requests["memory"])
			}
		}
	}
	if agents == 0 {
		t.Fatalf("%s: no regagent container found", file)
	}
}

// checkPreStop guards the order of a pod's shutdown. The kubelet runs each
// container's preStop hook, then sends it SIGTERM: the agent, without a
// hook, deregisters at once, while every application container pauses
// first for at least the agent's shutdown bound, so that the proxy never
// routes to an application that has stopped serving. The grace period
// counts from the deletion, so it must leave the application time after
// its pause.
func checkPreStop(t *testing.T, file string, pod k8sPodSpec, agent k8sContainer, cfg *config.Config, grace int) {
	t.Helper()
	if agent.Lifecycle != nil && agent.Lifecycle.PreStop != nil {
		t.Errorf("%s: container %s has a preStop hook: it would delay the deregistration by as long", file, agent.Name)
	}
	bound := shutdownBound(cfg)
	for _, app := range pod.Containers {
		if isAgent(app) {
			continue
		}
		where := file + ": container " + app.Name
		pause, ok := preStopPause(app)
		if !ok {
			t.Errorf("%s: no preStop pause (lifecycle.preStop.sleep.seconds): it would stop serving while the proxy still routes to it", where)
			continue
		}
		if float64(pause) < bound {
			t.Errorf("%s: the preStop pause is %d s, but the agent's shutdown may take %g s (mode %s)", where, pause, bound, cfg.Shutdown.Mode)
		}
		if grace <= pause {
			t.Errorf("%s: terminationGracePeriodSeconds %d leaves no time after the %d s preStop pause: the app would be killed, not stopped", where, grace, pause)
		}
	}
}

// preStopPause is how long a container's preStop hook pauses: the
// kubelet's sleep action, or an exec hook running sleep N.
func preStopPause(c k8sContainer) (seconds int, ok bool) {
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil {
		return 0, false
	}
	switch h := c.Lifecycle.PreStop; {
	case h.Sleep != nil:
		return h.Sleep.Seconds, true
	case h.Exec != nil:
		cmd := h.Exec.Command
		if len(cmd) == 3 && (cmd[0] == "sh" || cmd[0] == "/bin/sh") && cmd[1] == "-c" {
			cmd = strings.Fields(cmd[2])
		}
		if len(cmd) == 2 && path.Base(cmd[0]) == "sleep" {
			n, err := strconv.Atoi(cmd[1])
			return n, err == nil
		}
	}
	return 0, false
}

// hasPort tells whether a container declares a container port.
func hasPort(c k8sContainer, port string) bool {
	return slices.ContainsFunc(c.Ports, func(p k8sPort) bool { return strconv.Itoa(p.ContainerPort) == port })
}

// measuredIdleRSS is the agent's resident memory when idle: the static
// binary connected to a registry with the three routes of
// examples/registry.yaml applied, its status endpoint polled, after 90 s
// (VmRSS from /proc/PID/status).
const measuredIdleRSS = 14 << 20

// memQuantity reads a Kubernetes memory quantity with a binary suffix (or
// none); anything else is 0.
func memQuantity(q string) int64 {
	for _, u := range []struct {
		suffix string
		shift  int
	}{{"Ki", 10}, {"Mi", 20}, {"Gi", 30}, {"", 0}} {
		if n, err := strconv.ParseInt(strings.TrimSuffix(q, u.suffix), 10, 64); err == nil && strings.HasSuffix(q, u.suffix) {
			return n << u.shift
		}
	}
	return 0
}

func isAgent(c k8sContainer) bool { return c.Name == "regagent" }

// probePort resolves a probe's port (a number or a container port name).
func probePort(c k8sContainer, port string) string {
	if _, err := strconv.Atoi(port); err == nil {
		return port
	}
	for _, p := range c.Ports {
		if p.Name == port {
			return strconv.Itoa(p.ContainerPort)
		}
	}
	return ""
}
