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
	infos   map[reflect.Type]*structInfo // of the Config types, shared
	budget  int                          // bytes left to decode; see expansionBudget
	active  map[*yaml.Node]bool          // alias targets being expanded (cycles)
	// secrets are the values ${VAR} took from the environment.
	secrets map[string]bool
	// at records where each struct value was decoded from, so that a
	// problem found in the value later is placed on its node.
	at    map[valueKey]nodes
	arena []*yaml.Node // backs nodes.fields, to allocate them in bulk
}

// valueKey identifies a decoded struct value by its address and type (a
// struct and its first field share an address), the type by its field
// table, which hashes faster than a reflect.Type.
type valueKey struct {
	addr uintptr
	typ  *structInfo
}

// nodes is where one struct value was decoded from: the node that reached
// it (as written: an alias stays the alias, which is where a key the file
// leaves out is reported, as a path through it would reach it) and the value
// node of each field's key, nil for a key the file does not write.
type nodes struct {
	ref    *yaml.Node
	fields []*yaml.Node
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
	return string(p.appendTo(make([]byte, 0, 64)))
}

// appendTo appends the path to b, as joinKey writes it.
func (p *ypath) appendTo(b []byte) []byte {
	if p == nil {
		return b
	}
	b = p.parent.appendTo(b)
	if p.key == "" {
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(p.index), 10)
		return append(b, ']')
	}
	return appendKey(b, p.key)
}

func newDecoder(file string, lookup func(string) (string, bool), budget int, infos map[reflect.Type]*structInfo, structs int) *decoder {
	d := &decoder{
		file:    file,
		infos:   infos,
		at:      make(map[valueKey]nodes, structs),
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
	si, ok := d.infos[t]
	if !ok {
		panic("config: no field table for " + t.String()) // structInfos missed a type
	}
	return si
}

// record notes that the struct value v was reached through ref, and
// returns the slots for its fields' nodes.
func (d *decoder) record(v reflect.Value, si *structInfo, ref *yaml.Node) []*yaml.Node {
	n := len(si.checks)
	if len(d.arena)+n > cap(d.arena) {
		d.arena = make([]*yaml.Node, 0, max(n, 1024))
	}
	fields := d.arena[len(d.arena) : len(d.arena)+n : len(d.arena)+n]
	d.arena = d.arena[:len(d.arena)+n]
	d.at[valueKey{v.Addr().Pointer(), si}] = nodes{ref: ref, fields: fields}
	return fields
}

// nodesOf returns where the struct value v, of field table si, was
// decoded from; ok is false when the file does not write it.
func (d *decoder) nodesOf(v reflect.Value, si *structInfo) (nodes, bool) {
	n, ok := d.at[valueKey{v.Addr().Pointer(), si}]
	return n, ok
}

// decode stores node n into v. A null node leaves v as it is, so defaults
// set before decoding survive an empty value.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, p *ypath) { d.decodeFrom(n, n, v, p) }

// decodeFrom is decode of n reached through ref: n itself, or an alias
// of n.
func (d *decoder) decodeFrom(ref, n *yaml.Node, v reflect.Value, p *ypath) {
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
		d.decodeFrom(ref, target, v, p)
		delete(d.active, target)
		return
	}
	t := v.Type()
	var (
		si     *structInfo
		fields []*yaml.Node
	)
	if t.Kind() == reflect.Struct && t != reflect.TypeFor[time.Time]() {
		// Recorded even for a null or a wrong value: validation places
		// the value's missing keys there.
		si = d.info(t)
		fields = d.record(v, si, ref)
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return
	}
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
		d.decodeFrom(ref, n, elem.Elem(), p)
		v.Set(elem)
	case reflect.Struct:
		if t == reflect.TypeFor[PageServer]() && d.serveShorthand(n, v, p, si, fields) {
			return
		}
		d.structure(n, v, p, si, fields)
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

// structure decodes a mapping into the struct v, noting each field's value
// node in fields.
func (d *decoder) structure(n *yaml.Node, v reflect.Value, p *ypath, si *structInfo, fields []*yaml.Node) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, p, ErrType, "must be a mapping, not %s", describe(n))
		return
	}
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
		fields[idx] = val
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
