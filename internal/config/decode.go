package config

import (
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// expansionBudget bounds the bytes one decode may produce, so that YAML
// aliases cannot expand a small file into a huge one ("billion laughs"): an
// alias costs what it stands for, not one node. Every node costs a byte
// plus the bytes of its scalar value after interpolation. Without aliases
// that is at most about twice the file (a value is never longer than its
// text), so twice the size leaves honest aliases room, and the MiB of slack
// covers values that ${VAR} interpolation lengthens. With maxFileSize this
// keeps the decoded strings of any file under 65 MiB.
func expansionBudget(size int) int { return 2*size + 1<<20 }

// decoder is a strict, position-keeping decoder from yaml.Node trees into
// the Config types. yaml.v3's own decoder reports type errors by line only
// and Node.Decode cannot reject unknown keys, hence this one.
type decoder struct {
	file   string
	lookup func(string) (string, bool)
	errs   Errors
	failed map[string]bool // paths whose value could not be decoded
	// lookups counts the failed-path lookups of suppressed: the work that
	// must grow linearly with the number of errors (a test checks it).
	lookups int
	infos   map[reflect.Type]*structInfo
	budget  int                 // bytes left to decode; see expansionBudget
	active  map[*yaml.Node]bool // alias targets being expanded (cycles)
	// secrets are the values ${VAR} took from the environment.
	secrets map[string]bool
}

// structInfo maps the yaml names of a struct's fields to field indexes.
type structInfo struct {
	names  []string
	fields map[string]int
}

// ypath is a YAML path built lazily: it is turned into a string only when an
// error needs it, which keeps large files cheap.
type ypath struct {
	parent *ypath
	key    string // mapping key, or "" for a sequence index
	index  int
}

func (p *ypath) String() string {
	if p == nil {
		return ""
	}
	s := p.parent.String()
	if p.key == "" {
		return s + "[" + strconv.Itoa(p.index) + "]"
	}
	return joinKey(s, p.key)
}

func newDecoder(file string, lookup func(string) (string, bool), budget int) *decoder {
	d := &decoder{
		file:    file,
		infos:   make(map[reflect.Type]*structInfo),
		failed:  make(map[string]bool),
		budget:  budget,
		active:  make(map[*yaml.Node]bool),
		secrets: make(map[string]bool),
	}
	if lookup != nil {
		d.lookup = func(name string) (string, bool) {
			v, ok := lookup(name)
			// Only a value that interpolation can take from the
			// environment: SELF_IP is the host's address, and an empty
			// value gives way to the default written in the file.
			if ok && v != "" && name != "SELF_IP" {
				d.secrets[v] = true
			}
			return v, ok
		}
	}
	return d
}

func (d *decoder) errorAt(line, col int, path string, cause error, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Col: col, Path: path, Msg: fmt.Sprintf(format, args...), Cause: cause})
}

// fail reports a value that could not be decoded; validation later stays
// silent about that path so that one mistake gives one message.
func (d *decoder) fail(n *yaml.Node, p *ypath, cause error, format string, args ...any) {
	path := p.String()
	d.failed[path] = true
	d.errorAt(n.Line, n.Column, path, cause, format, args...)
}

func (d *decoder) info(t reflect.Type) *structInfo {
	if si, ok := d.infos[t]; ok {
		return si
	}
	si := &structInfo{fields: make(map[string]int)}
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		si.names = append(si.names, name)
		si.fields[name] = i
	}
	d.infos[t] = si
	return si
}

// decode stores node n into v. A null node leaves v as it is, so defaults
// set before decoding survive an empty value.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, p *ypath) {
	if !d.spend(n, p, 1) {
		return
	}
	if n.Kind == yaml.AliasNode {
		target := n.Alias
		if target == nil || d.active[target] {
			d.fail(n, p, ErrInvalid, "alias *%s refers to a value that contains it", n.Value)
			return
		}
		d.active[target] = true
		d.decode(target, v, p)
		delete(d.active, target)
		return
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
	t := v.Type()
	switch {
	case t == reflect.TypeFor[Duration]():
		s, ok := d.scalar(n, p, "a duration")
		if !ok {
			return
		}
		dur, err := time.ParseDuration(s)
		if err != nil {
			d.fail(n, p, ErrType, "%s is not a duration (want a number with a unit, e.g. \"100ms\", \"30s\", \"5m\")", quote(s))
			return
		}
		v.SetInt(int64(dur))
		return
	case t == reflect.TypeFor[time.Time]():
		s, ok := d.scalar(n, p, "an RFC 3339 time")
		if !ok {
			return
		}
		tm, err := time.Parse(time.RFC3339, s)
		if err != nil {
			d.fail(n, p, ErrType, "%s is not an RFC 3339 time (e.g. \"2026-11-26T18:00:00Z\")", quote(s))
			return
		}
		v.Set(reflect.ValueOf(tm))
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		elem := reflect.New(t.Elem())
		if !v.IsNil() {
			elem.Elem().Set(v.Elem())
		}
		d.decode(n, elem.Elem(), p)
		v.Set(elem)
	case reflect.Struct:
		d.structure(n, v, p)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			d.fail(n, p, ErrType, "must be a list, not %s", describe(n))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), &ypath{parent: p, index: i})
		}
		v.Set(s)
	case reflect.Map:
		d.mapping(n, v, p)
	case reflect.String:
		if s, ok := d.scalar(n, p, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Int:
		s, ok := d.scalar(n, p, "an integer")
		if !ok {
			return
		}
		i, err := strconv.ParseInt(s, 10, strconv.IntSize)
		if err != nil {
			d.fail(n, p, ErrType, "%s is not an integer", quote(s))
			return
		}
		v.SetInt(i)
	case reflect.Float64:
		s, ok := d.scalar(n, p, "a number")
		if !ok {
			return
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			d.fail(n, p, ErrType, "%s is not a number", quote(s))
			return
		}
		v.SetFloat(f)
	case reflect.Bool:
		s, ok := d.scalar(n, p, "true or false")
		if !ok {
			return
		}
		switch s {
		case "true", "True", "TRUE":
			v.SetBool(true)
		case "false", "False", "FALSE":
			v.SetBool(false)
		default:
			d.fail(n, p, ErrType, "%s is not a boolean (want true or false)", quote(s))
		}
	default:
		panic("config: cannot decode into " + t.String())
	}
}

// spend takes cost bytes from the budget. When the budget runs out the
// decoder's errors become that one error (the others would only be noise
// from a half-decoded document) and every later call returns false.
func (d *decoder) spend(n *yaml.Node, p *ypath, cost int) bool {
	if d.budget <= 0 {
		return false
	}
	d.budget -= cost
	if d.budget <= 0 {
		d.errs = Errors{{File: d.file, Line: n.Line, Col: n.Column, Path: p.String(), Cause: ErrTooLong,
			Msg: "aliases or variables expand the document too much (to more than twice its size in bytes, plus 1 MiB)"}}
		return false
	}
	return true
}

// scalar returns the interpolated value of a scalar node. The value is paid
// for before interpolation copies it, so that an alias repeated many times
// stops at the budget instead of being copied whole each time.
func (d *decoder) scalar(n *yaml.Node, p *ypath, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, p, ErrType, "must be %s, not %s", want, describe(n))
		return "", false
	}
	if !d.spend(n, p, len(n.Value)) {
		return "", false
	}
	s, verr := interpolate(n.Value, d.lookup, d.budget)
	if verr != nil {
		path := p.String()
		d.failed[path] = true
		col := n.Column
		// In a plain one-line scalar the offset in the value is the offset
		// in the file, so point at the reference itself.
		if n.Style == 0 && !strings.Contains(n.Value, "\n") {
			col += utf8.RuneCountInString(n.Value[:verr.off])
		}
		d.errorAt(n.Line, col, path, verr.cause, "%s", verr.msg)
		return "", false
	}
	if grown := len(s) - len(n.Value); grown > 0 && !d.spend(n, p, grown) {
		return "", false
	}
	return s, true
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, p *ypath) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, p, ErrType, "must be a mapping, not %s", describe(n))
		return
	}
	si := d.info(v.Type())
	var seen uint64 // field indexes already set; every struct has < 64 fields
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorAt(k.Line, k.Column, p.String(), ErrType, "keys must be plain names, not %s", describe(k))
			continue
		}
		kp := &ypath{parent: p, key: k.Value}
		if k.Value == "<<" {
			d.errorAt(k.Line, k.Column, kp.String(), ErrUnknownKey, "merge keys (<<) are not supported; repeat the keys or use an alias for the whole value")
			continue
		}
		idx, ok := si.fields[k.Value]
		if !ok {
			d.errorAt(k.Line, k.Column, kp.String(), ErrUnknownKey, "unknown key %s%s", quote(k.Value), suggest(k.Value, si.names))
			continue
		}
		if seen&(1<<idx) != 0 {
			d.errorAt(k.Line, k.Column, kp.String(), ErrDuplicate, "key %s is repeated (first at line %d)", quote(k.Value), firstKeyLine(n, k.Value))
			continue
		}
		seen |= 1 << idx
		d.decode(val, v.Field(idx), kp)
	}
}

// mapping decodes a map[string]string: keys are taken as written, values are
// interpolated scalars.
func (d *decoder) mapping(n *yaml.Node, v reflect.Value, p *ypath) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, p, ErrType, "must be a mapping, not %s", describe(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorAt(k.Line, k.Column, p.String(), ErrType, "keys must be strings, not %s", describe(k))
			continue
		}
		kp := &ypath{parent: p, key: k.Value}
		key := reflect.ValueOf(k.Value)
		if m.MapIndex(key).IsValid() {
			d.errorAt(k.Line, k.Column, kp.String(), ErrDuplicate, "key %s is repeated (first at line %d)", quote(k.Value), firstKeyLine(n, k.Value))
			continue
		}
		if val.Kind == yaml.AliasNode && val.Alias != nil {
			val = val.Alias
		}
		s := ""
		if !(val.Kind == yaml.ScalarNode && val.ShortTag() == "!!null") {
			var ok bool
			if s, ok = d.scalar(val, kp, "a string"); !ok {
				continue
			}
		}
		m.SetMapIndex(key, reflect.ValueOf(s))
	}
	v.Set(m)
}

func firstKeyLine(n *yaml.Node, key string) int {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i].Line
		}
	}
	return 0
}
