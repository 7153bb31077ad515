package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"time"

	"github.com/go-playground/validator/v10"
	"gopkg.in/yaml.v3"

	"regagent/internal/regularfile"
)

// ParseOptions are the inputs of Parse besides the file content.
type ParseOptions struct {
	// Filename prefixes error messages ("registry.yaml:14:7: ...").
	Filename string
	// Lookup resolves ${NAME} references: the environment plus SELF_IP, the
	// host's own address. nil means no variable is set.
	Lookup func(name string) (string, bool)
	// Hostname is the default of service.instance.
	Hostname string
	// Now is the clock that tells which maintenance windows are over, to
	// warn of them (Config.Warnings); nil means time.Now. Whether a file
	// is valid never depends on it.
	Now func() time.Time
}

// Parser parses config files. It holds what every parse shares and
// nothing of one file: the validator, built with the rules once (building
// it and learning the Config types costs more than checking a small file),
// and the field tables of the Config types. A Parser is immutable and safe
// for concurrent use; whoever parses again and again (Watch, on every save)
// holds one.
type Parser struct {
	v     *validator.Validate
	infos map[reflect.Type]*structInfo // with the Go rules of each field
}

// NewParser returns a Parser.
func NewParser() *Parser {
	return &Parser{v: newValidator(), infos: structInfos(reflect.TypeFor[Config](), stringRules())}
}

// Load opens the file at path and parses it with Parse. opts.Filename
// defaults to path. The path must hold a regular file (ErrNotRegular
// otherwise: a FIFO or a device is refused without blocking) of at most
// 32 MiB.
func Load(path string, opts ParseOptions) (*Config, error) {
	if opts.Filename == "" {
		opts.Filename = path
	}
	f, err := regularfile.Open(path, maxFileSize)
	if err != nil {
		return nil, readError(opts.Filename, err)
	}
	defer f.Close()
	return Parse(f, opts)
}

// Parse reads a config file with a Parser of its own: see Parser.Parse.
//
// Parse builds that Parser on every call rather than share one kept in a
// package variable: a shared one would be state held by the package, which
// the rest of the code avoids, for a saving (tens of µs) that only counts
// to callers that parse often, and those hold a Parser.
func Parse(r io.Reader, opts ParseOptions) (*Config, error) {
	return NewParser().Parse(r, opts)
}

// Parse reads a config file and returns it defaulted and validated. It is a
// pure function of r and opts: defaults, then strict decoding (unknown keys
// are errors), then validation. Problems in the file come back as Errors,
// every one of them, in file order.
func (ps *Parser) Parse(r io.Reader, opts ParseOptions) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read config: %w", err)
	}
	if len(data) > maxFileSize {
		return nil, tooLarge(opts.Filename)
	}
	return ps.parse(data, opts)
}

// maxErrors is how many problems Parse reports before it says "too many".
const maxErrors = 100

// parseRun holds one Parse run: the decoder, with its errors and the nodes
// it decoded each value from, and the document.
type parseRun struct {
	*decoder
	ps       *Parser
	doc      *yaml.Node
	now      time.Time
	warnings Errors
}

func (ps *Parser) newRun(doc *yaml.Node, file string, lookup func(string) (string, bool), budget int) *parseRun {
	// One record per struct value: a route and its health check, and a
	// few sections.
	structs := 16
	if n := mapValue(doc, "routes"); n != nil {
		structs += 2 * len(deref(n).Content)
	}
	return &parseRun{decoder: newDecoder(file, lookup, budget, ps.infos, structs), ps: ps, doc: doc}
}

func (ps *Parser) parse(data []byte, opts ParseOptions) (*Config, error) {
	if err := checkNodeCount(data, opts.Filename); err != nil {
		return nil, err
	}
	doc, err := parseYAML(data, opts.Filename)
	if err != nil {
		return nil, err
	}
	p := ps.newRun(doc, opts.Filename, opts.Lookup, expansionBudget(len(data)))
	p.now = time.Now()
	if opts.Now != nil {
		p.now = opts.Now()
	}
	cfg := defaultConfig(opts.Hostname)
	if doc.Kind != yaml.MappingNode {
		p.add(doc, "", ErrType, "the file must be a mapping of keys (proxy, service, routes, ...), not %s", describe(doc))
		return nil, p.errs
	}
	if !p.checkRouteCount() {
		return nil, p.errs
	}
	p.decoder.decode(doc, reflect.ValueOf(cfg).Elem(), nil)
	if p.budget <= 0 {
		return nil, p.errs // the document is only partly decoded: say only why
	}
	p.checkRoutesPresent(cfg)
	p.validate(cfg)
	p.validateSemantics(cfg)
	if len(p.errs) > 0 {
		sortByPosition(p.errs)
		if n := len(p.errs); n > maxErrors {
			last := p.errs[maxErrors-1]
			p.errs = append(p.errs[:maxErrors], &Error{File: last.File, Line: last.Line, Col: last.Col,
				Msg: fmt.Sprintf("too many errors (%d more not shown)", n-maxErrors), Cause: ErrInvalid})
		}
		return nil, p.errs
	}
	sum := sha256.Sum256(data)
	cfg.Hash = hex.EncodeToString(sum[:])
	cfg.Secrets = slices.Sorted(maps.Keys(p.secrets))
	sortByPosition(p.warnings)
	cfg.Warnings = p.warnings
	return cfg, nil
}

// checkRoutesPresent makes a missing or empty `routes:` an error while
// `routes: []` is legal: a truncated file must not deregister everything.
func (p *parseRun) checkRoutesPresent(cfg *Config) {
	n := mapValue(p.doc, "routes")
	switch {
	case n == nil:
		p.add(p.doc, "routes", ErrMissing, "is required (write \"routes: []\" to remove every route on purpose)")
	case deref(n).ShortTag() == "!!null":
		p.add(mapKey(p.doc, "routes"), "routes", ErrMissing, "is empty (list the routes, or write \"routes: []\" to remove every route on purpose)")
	case deref(n).Kind == yaml.SequenceNode && len(deref(n).Content) == 0:
		cfg.RoutesExplicitlyEmpty = true
	}
}

// add records a problem at node n.
func (p *parseRun) add(n *yaml.Node, path string, cause error, format string, args ...any) {
	p.errorAt(n.Line, n.Column, path, cause, format, args...)
}

// suppressed reports whether path is, or is inside, a value the decoder
// already rejected. It looks up path and each of its prefixes that ends
// before a "." or "[": work in the length of the path, not in the number of
// errors, so that a file of many bad entries is checked in linear time.
func (p *parseRun) suppressed(path string) bool {
	p.lookups++
	if p.failed[""] || p.failed[path] {
		return true
	}
	for i := 1; i < len(path); i++ {
		if path[i] == '.' || path[i] == '[' {
			p.lookups++
			if p.failed[path[:i]] {
				return true
			}
		}
	}
	return false
}

// parseYAML returns the single document's root node, or syntax errors.
func parseYAML(data []byte, file string) (doc *yaml.Node, err error) {
	defer func() {
		// yaml.v3 has panicked on hostile input before; a config file must
		// never take the agent down.
		if r := recover(); r != nil {
			doc, err = nil, Errors{{File: file, Line: 1, Col: 1, Msg: fmt.Sprintf("yaml: internal error: %v", r), Cause: ErrSyntax}}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil && !errors.Is(err, io.EOF) {
		return nil, Errors{syntaxError(file, data, err)}
	}
	if len(root.Content) == 0 {
		return nil, Errors{{File: file, Line: 1, Col: 1, Msg: "the file is empty (it must declare at least proxy, service and routes)", Cause: ErrMissing}}
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, Errors{syntaxError(file, data, err)}
	default:
		return nil, Errors{{File: file, Line: next.Line, Col: next.Column, Msg: "the file holds more than one YAML document", Cause: ErrSyntax}}
	}
	return root.Content[0], nil
}
