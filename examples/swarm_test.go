package examples_test

import (
	"maps"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// The parts of a Compose/Swarm stack file the checks read.
type (
	stackFile struct {
		Services map[string]stackService `yaml:"services"`
		Configs  map[string]struct {
			Name string `yaml:"name"`
			File string `yaml:"file"`
		} `yaml:"configs"`
		Networks map[string]struct {
			External bool `yaml:"external"`
		} `yaml:"networks"`
		Volumes map[string]any `yaml:"volumes"`
	}
	stackService struct {
		Image         string    `yaml:"image"`
		Entrypoint    yaml.Node `yaml:"entrypoint"`
		Command       []string  `yaml:"command"`
		Environment   yaml.Node `yaml:"environment"` // a map or a list of NAME=value
		StopGrace     string    `yaml:"stop_grace_period"`
		Networks      yaml.Node `yaml:"networks"` // a list of names or a map name → {aliases}
		Volumes       []yaml.Node
		ConfigsMounts []struct {
			Source string `yaml:"source"`
			Target string `yaml:"target"`
		} `yaml:"configs"`
		Deploy struct {
			Replicas     *int `yaml:"replicas"`
			UpdateConfig struct {
				Order string `yaml:"order"`
			} `yaml:"update_config"`
		} `yaml:"deploy"`
	}
)

// Values Swarm's service templates give in the tests.
var swarmTemplates = map[string]string{
	"{{.Task.Name}}":     "shop_regagent.1.x3mczu1bvvbqb0ji9p8fpcfo2",
	"{{.Task.ID}}":       "x3mczu1bvvbqb0ji9p8fpcfo2",
	"{{.Task.Slot}}":     "1",
	"{{.Node.Hostname}}": "node-1",
	"{{.Service.Name}}":  "shop_regagent",
}

func (s stackService) env(tb testing.TB, where string) map[string]string {
	tb.Helper()
	env := map[string]string{}
	switch s.Environment.Kind {
	case 0:
	case yaml.MappingNode:
		decodeNode(tb, where, &s.Environment, &env)
	case yaml.SequenceNode:
		var list []string
		decodeNode(tb, where, &s.Environment, &list)
		for _, kv := range list {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	default:
		tb.Fatalf("%s: environment is neither a map nor a list", where)
	}
	tmpl := regexp.MustCompile(`\{\{[^}]*\}\}`)
	for k, v := range env {
		env[k] = tmpl.ReplaceAllStringFunc(v, func(m string) string {
			r, ok := swarmTemplates[m]
			if !ok {
				tb.Fatalf("%s: env %s uses %s, which Swarm does not template (or the test does not know)", where, k, m)
			}
			return r
		})
	}
	return env
}

// aliases returns the names a service answers to on each of its networks.
func (s stackService) aliases(tb testing.TB, where, name string) map[string][]string {
	tb.Helper()
	out := map[string][]string{}
	switch s.Networks.Kind {
	case yaml.SequenceNode:
		var list []string
		decodeNode(tb, where, &s.Networks, &list)
		for _, n := range list {
			out[n] = []string{name}
		}
	case yaml.MappingNode:
		var m map[string]*struct {
			Aliases []string `yaml:"aliases"`
		}
		decodeNode(tb, where, &s.Networks, &m)
		for n, v := range m {
			out[n] = []string{name}
			if v != nil {
				out[n] = append(out[n], v.Aliases...)
			}
		}
	}
	return out
}

// TestSwarmStacks checks each stack file's regagent service: its config
// (the registry.yaml next to the stack file, as a bind-mounted directory or
// a versioned Swarm config) is valid with the service's environment; the
// backends are app services' names on a network shared with the proxy;
// the agent is replaced stop-first and stops within stop_grace_period.
func TestSwarmStacks(t *testing.T) {
	files, err := filepath.Glob("swarm/*.yml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("found stack files %v, want the bind-mount and the configs variant", files)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			docs := yamlDocs(t, file)
			var stack stackFile
			decodeNode(t, file, docs[0], &stack)
			agent, ok := stack.Services["regagent"]
			if !ok {
				t.Fatalf("%s: no regagent service", file)
			}
			where := file + ": service regagent"
			if agent.Entrypoint.Kind != 0 {
				t.Errorf("%s: entrypoint overrides the image's [\"regagent\"]; set command only", where)
			}
			env := agent.env(t, where)
			run := parseRunArgs(t, where, agent.Command, env)
			dir, key := path.Split(run.config)
			dir = path.Clean(dir)

			// How registry.yaml reaches the container.
			source := ""
			type volume struct {
				Type, Source, Target string
				ReadOnly             bool `yaml:"read_only"`
			}
			var volumes []volume
			for i := range agent.Volumes {
				var v volume
				if agent.Volumes[i].Kind == yaml.ScalarNode {
					f := strings.Split(agent.Volumes[i].Value, ":")
					v.Type, v.Source, v.Target = "bind", f[0], f[1]
				} else {
					decodeNode(t, where, &agent.Volumes[i], &v)
				}
				volumes = append(volumes, v)
				switch path.Clean(v.Target) {
				case run.config:
					t.Errorf("%s: %s is a single-file mount of %s: editors and git replace the file, the mount keeps the old one", where, run.config, v.Source)
				case dir:
					if v.Type != "bind" || strings.HasSuffix(v.Source, key) {
						t.Errorf("%s: %s is mounted from %s %s; want a bind-mounted directory", where, dir, v.Type, v.Source)
					}
					source = "registry.yaml" // the file the directory holds
				}
			}
			for _, c := range agent.ConfigsMounts {
				if c.Target != run.config {
					continue
				}
				cfgObj, ok := stack.Configs[c.Source]
				if !ok {
					t.Fatalf("%s: config %s is not defined", where, c.Source)
				}
				// Configs are immutable: only a new name delivers a new
				// content, and makes the service roll.
				if !strings.Contains(cfgObj.Name, "${") {
					t.Errorf("%s: config %s has the fixed name %q; a changed file needs a new name (e.g. with its hash)", file, c.Source, cfgObj.Name)
				}
				source = cfgObj.File
			}
			if source == "" {
				t.Fatalf("%s: nothing is mounted at %s or %s", where, run.config, dir)
			}
			text := readFile(t, filepath.Join(filepath.Dir(file), source))
			cfg := parseConfig(t, filepath.Join(filepath.Dir(file), source), text, 1, env)

			// Backends: an app service's name on a network the proxy
			// (an external network) reaches.
			names := map[string]bool{}
			for name, s := range stack.Services {
				if name == "regagent" {
					continue
				}
				for network, aliases := range s.aliases(t, file, name) {
					if stack.Networks[network].External {
						for _, a := range aliases {
							names[a] = true
						}
					}
				}
			}
			for _, r := range cfg.Routes {
				u, err := url.Parse(r.Backend)
				if err != nil || !names[u.Hostname()] {
					t.Errorf("%s: route %s goes to %s; want an app service's name on an external network (one of %v)", file, r.Name, r.Backend, names)
				}
			}
			// One instance name per replica, kept by the task that replaces
			// a failed one: the state file belongs to an instance name, and
			// a task name ({{.Task.Name}}) changes with every task.
			if cfg.Service.Instance != "shop_regagent.1" {
				t.Errorf("%s: service.instance is %q; want the service and slot ({{.Service.Name}}.{{.Task.Slot}}), the same for a replacement task", file, cfg.Service.Instance)
			}

			// The state file: a named volume (it outlives the task),
			// writable, defined by the stack.
			sdir := stateDir(t, where, run, cfg, env)
			stateVolume := false
			for _, v := range volumes {
				if path.Clean(v.Target) != sdir {
					continue
				}
				stateVolume = true
				if v.Type != "volume" || v.Source == "" {
					t.Errorf("%s: the state directory %s is a %s mount of %q; want a named volume", where, sdir, v.Type, v.Source)
				} else if _, ok := stack.Volumes[v.Source]; !ok {
					t.Errorf("%s: the state volume %s is not defined under volumes:", where, v.Source)
				}
				if v.ReadOnly {
					t.Errorf("%s: the state directory %s is mounted read-only", where, sdir)
				}
			}
			if !stateVolume {
				t.Errorf("%s: no volume is mounted at the state directory %s; a replacement task could not clean up after a crashed one", where, sdir)
			}

			// Replacement: stop-first, one agent, within the grace period.
			if agent.Deploy.Replicas == nil || *agent.Deploy.Replicas != 1 {
				t.Errorf("%s: want replicas: 1; agents registering the same domain+path remove each other's routes", where)
			}
			if agent.Deploy.UpdateConfig.Order != "stop-first" {
				t.Errorf("%s: update order %q; with start-first the old agent's deregistration removes the new one's routes", where, agent.Deploy.UpdateConfig.Order)
			}
			grace := 10 * time.Second // Docker's default
			if agent.StopGrace != "" {
				if grace, err = time.ParseDuration(agent.StopGrace); err != nil {
					t.Fatalf("%s: stop_grace_period: %v", where, err)
				}
			}
			checkShutdown(t, where, cfg, grace.Seconds())
			if !slices.ContainsFunc(slices.Collect(maps.Keys(stack.Networks)), func(n string) bool { return stack.Networks[n].External }) {
				t.Errorf("%s: no external network: the proxy cannot reach the app", file)
			}
		})
	}
}
