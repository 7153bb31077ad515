package config

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// optionKind is the value type of a known proxy option (PROTOCOL.md §3).
type optionKind int

const (
	optionDuration optionKind = iota
	optionBool
)

// optionKinds lists the options the proxy knows, with their value types.
func optionKinds() map[string]optionKind {
	return map[string]optionKind{
		"timeout":               optionDuration,
		"health_check_interval": optionDuration,
		"health_check_timeout":  optionDuration,
		"websocket":             optionBool,
		"compression":           optionBool,
		"http2":                 optionBool,
		"http3":                 optionBool,
	}
}

// OptionKeys returns the option keys the proxy knows, sorted.
func OptionKeys() []string {
	keys := make([]string, 0, 8)
	for k := range optionKinds() {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// validateSemantics checks the rules that span fields or entries: unique
// route names and domain+path pairs, typed options, header and metadata
// entries, maintenance targets and the page server's port.
func (p *parseRun) validateSemantics(cfg *Config) {
	p.checkRoutes(cfg)
	p.checkRouteList(cfg)
	p.checkOptions(cfg)
	p.checkHeaders(cfg)
	p.checkMetadata(cfg)
	p.checkTargets(cfg)
	p.checkPageServer(cfg)
	p.checkWindows(cfg)
}

// at returns the node of the struct at ptr, as decoded (an alias
// followed), or the document when the file does not write it.
func (p *parseRun) at(ptr any) *yaml.Node {
	v := reflect.ValueOf(ptr).Elem()
	if at, ok := p.nodesOf(v, p.info(v.Type())); ok {
		return deref(at.ref)
	}
	return p.doc
}

// field returns the value node of the field called name (its yaml name)
// of the struct at ptr, an alias followed; exact is false when the file
// does not write it, and the node is then the struct's own.
func (p *parseRun) field(ptr any, name string) (n *yaml.Node, exact bool) {
	v := reflect.ValueOf(ptr).Elem()
	si := p.info(v.Type())
	at, ok := p.nodesOf(v, si)
	if !ok {
		return p.doc, false
	}
	if n := at.fields[si.fields[name]]; n != nil {
		return deref(n), true
	}
	return at.ref, false
}

// elem returns element k of the list field called name of the struct at
// ptr, an alias followed.
func (p *parseRun) elem(ptr any, name string, k int) *yaml.Node {
	seq, exact := p.field(ptr, name)
	if !exact || seq.Kind != yaml.SequenceNode || k >= len(seq.Content) {
		return seq
	}
	return deref(seq.Content[k])
}

func (p *parseRun) checkRoutes(cfg *Config) {
	type hostPath struct{ domain, path string }
	names := make(map[string]int, len(cfg.Routes))
	pairs := make(map[hostPath]int, len(cfg.Routes))
	for i, r := range cfg.Routes {
		if r.Name != "" {
			if j, ok := names[r.Name]; ok {
				n, _ := p.field(&cfg.Routes[i], "name")
				p.add(n, "routes["+strconv.Itoa(i)+"].name", ErrDuplicate, "route name %s is already used by routes[%d] (line %d)",
					quote(r.Name), j, p.at(&cfg.Routes[j]).Line)
			} else {
				names[r.Name] = i
			}
		}
		if r.Path == "" {
			continue
		}
		for k, d := range r.Domains {
			if d == "" {
				continue
			}
			key := hostPath{d, r.Path}
			j, ok := pairs[key]
			if !ok {
				pairs[key] = i
				continue
			}
			path := fmt.Sprintf("routes[%d].domains[%d]", i, k)
			if p.suppressed(path) {
				continue
			}
			n := p.elem(&cfg.Routes[i], "domains", k)
			if j == i {
				p.add(n, path, ErrDuplicate, "%s is listed twice", quote(d))
				continue
			}
			p.add(n, path, ErrDuplicate, "%s with path %s is already routed by route %s (line %d); the proxy keys routes by host and path",
				quote(d), quote(r.Path), quote(cfg.Routes[j].Name), p.at(&cfg.Routes[j]).Line)
		}
	}
}

// entries calls fn for each key/value node pair of the mapping n, the map
// at path, skipping entries the decoder rejected.
func (p *parseRun) entries(n *yaml.Node, exact bool, path string, fn func(k, v *yaml.Node, path string)) {
	if !exact || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Kind != yaml.ScalarNode {
			continue
		}
		kp := joinKey(path, k.Value)
		if p.suppressed(kp) {
			continue
		}
		fn(k, deref(n.Content[i+1]), kp)
	}
}

func (p *parseRun) checkOptions(cfg *Config) {
	kinds := optionKinds()
	n, exact := p.field(cfg, "options")
	p.entries(n, exact, "options", func(k, v *yaml.Node, path string) {
		val, ok := cfg.Options[k.Value]
		kind, known := kinds[k.Value]
		switch {
		case !ok:
		case !known:
			msg := "unknown option " + quote(k.Value)
			if s := suggest(k.Value, OptionKeys()); strings.HasPrefix(s, " (did") {
				msg += s
			}
			p.add(k, path, ErrUnknownKey, "%s; known options: %s", msg, strings.Join(OptionKeys(), ", "))
		case len(val) > maxOptionLen:
			p.add(v, path, ErrTooLong, "%s is %d bytes long; the limit is %d", quote(val), len(val), maxOptionLen)
		case kind == optionDuration:
			if d, err := time.ParseDuration(val); err != nil || d <= 0 {
				p.add(v, path, ErrInvalid, "%s is not a positive duration (e.g. \"30s\")", quote(val))
			}
		case kind == optionBool:
			if val != "true" && val != "false" {
				p.add(v, path, ErrInvalid, "%s is not true or false", quote(val))
			}
		}
	})
}

func (p *parseRun) checkHeaders(cfg *Config) {
	seen := make(map[string]*yaml.Node, len(cfg.Headers))
	n, exact := p.field(cfg, "headers")
	p.entries(n, exact, "headers", func(k, v *yaml.Node, path string) {
		val, ok := cfg.Headers[k.Value]
		if !ok {
			return
		}
		if err := firstErr(k.Value, checkNotEmpty, checkWire, checkHeaderName); err != nil {
			p.add(k, path, causeOf(err), "%s", err)
			return
		}
		lower := strings.ToLower(k.Value)
		if first, dup := seen[lower]; dup {
			p.add(k, path, ErrDuplicate, "header %s is also set as %s (line %d); header names are case-insensitive", quote(k.Value), quote(first.Value), first.Line)
			return
		}
		seen[lower] = k
		if err := checkHeaderValue(val); err != nil {
			p.add(v, path, causeOf(err), "%s", err)
		}
	})
}

func (p *parseRun) checkMetadata(cfg *Config) {
	bad := false
	n, exact := p.field(&cfg.Service, "metadata")
	p.entries(n, exact, "service.metadata", func(k, v *yaml.Node, path string) {
		val, ok := cfg.Service.Metadata[k.Value]
		if !ok {
			return
		}
		if err := firstErr(k.Value, checkNotEmpty, checkWire, func(s string) error { return checkLen(s, maxMetaKey) }); err != nil {
			bad = true
			p.add(k, path, causeOf(err), "key %s", err)
			return
		}
		if err := firstErr(val, checkWire, func(s string) error { return checkLen(s, maxMetaValue) }); err != nil {
			bad = true
			p.add(v, path, causeOf(err), "%s", err)
		}
	})
	if bad || len(cfg.Service.Metadata) == 0 {
		return
	}
	// REGISTER carries the metadata as one JSON field (PROTOCOL.md §2).
	if b, err := json.Marshal(cfg.Service.Metadata); err == nil && len(b) > maxMetadataJSON {
		p.add(n, "service.metadata", ErrTooLong, "is %d bytes as JSON; the limit is %d", len(b), maxMetadataJSON)
	}
}

// checkTargets requires the targets of maintenance in force to name a
// route. While maintenance is off they are inert, and an edit that removes
// or renames a route (or writes routes: []) must not be refused for them.
func (p *parseRun) checkTargets(cfg *Config) {
	if len(cfg.Maintenance.Targets) == 0 || !cfg.Maintenance.Enabled {
		return
	}
	for i, t := range cfg.Maintenance.Targets {
		path := "maintenance.targets[" + strconv.Itoa(i) + "]"
		if t == "" || p.suppressed(path) || len(cfg.RoutesMatching(t)) > 0 {
			continue
		}
		p.add(p.elem(&cfg.Maintenance, "targets", i), path, ErrInvalid, "%s matches no route name, path or domain", quote(t))
	}
}

func checkNotEmpty(s string) error {
	if s == "" {
		return problem(ErrMissing, "must not be empty")
	}
	return nil
}

func firstErr(s string, checks ...func(string) error) error {
	for _, c := range checks {
		if err := c(s); err != nil {
			return err
		}
	}
	return nil
}

// joinKey appends a mapping key to a YAML path: "headers.X-Id", or
// `headers["odd key"]` when the key is not a plain word.
func joinKey(path, key string) string {
	return string(appendKey(append(make([]byte, 0, len(path)+len(key)+8), path...), key))
}

// appendKey is joinKey on the bytes of a path.
func appendKey(path []byte, key string) []byte {
	plain := key != ""
	for i := 0; plain && i < len(key); i++ {
		plain = isAlnum(key[i]) || key[i] == '_' || key[i] == '-'
	}
	switch {
	case !plain:
		return append(strconv.AppendQuote(append(path, '['), key), ']')
	case len(path) == 0:
		return append(path, key...)
	}
	return append(append(path, '.'), key...)
}
