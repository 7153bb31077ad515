package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"
	"gopkg.in/yaml.v3"
)

// The `validate` tags of types.go hold two kinds of rule. What the tags of
// go-playground/validator express (required, omitempty, gt, min, oneof,
// cidr, dive...) and the ranges registered below (maxbytes, durmin, ...)
// are checked by the validator. The rules of stringRules are plain Go
// functions that word their own message; a Parser calls them itself,
// after the validator's, in the order the tag lists them. A tag lists the
// validator's rules first (NewParser panics otherwise), so that the first
// rule to fail is the one the validator alone would have named.

// stringRules are the rules on string fields written in Go (rules.go). The
// same function decides and words the message, so the two cannot disagree.
func stringRules() map[string]func(string) error {
	return map[string]func(string) error{
		"wire":        checkWire,
		"servicename": checkName(maxServiceLen),
		"routename":   checkName(maxRouteNameLen),
		"domain":      checkDomain,
		"urlpath":     checkPath,
		"backend":     checkURL("http", "https", "ws", "wss"),
		"page":        checkURL("http", "https"),
		"hostport":    checkHostPort(true),
		"listenaddr":  checkHostPort(false),
	}
}

// newValidator builds the validator for the Config types: the validator's
// own tags and the ranges it has no tag for (a byte length; bounds on a
// Duration, which it would read as nanoseconds).
func newValidator() *validator.Validate {
	v := validator.New()
	mustRegister(v, "maxbytes", func(fl validator.FieldLevel) bool {
		n, _ := strconv.Atoi(fl.Param())
		return len(fl.Field().String()) <= n
	})
	mustRegister(v, "durmax", func(fl validator.FieldLevel) bool {
		return fl.Field().Int() <= int64(paramDuration(fl.Param()))
	})
	mustRegister(v, "durmin", func(fl validator.FieldLevel) bool {
		return fl.Field().Int() >= int64(paramDuration(fl.Param()))
	})
	mustRegister(v, "offormin", func(fl validator.FieldLevel) bool {
		d := fl.Field().Int()
		return d == 0 || d >= int64(paramDuration(fl.Param()))
	})
	return v
}

func mustRegister(v *validator.Validate, tag string, fn validator.Func) {
	if err := v.RegisterValidation(tag, fn); err != nil {
		panic("config: " + err.Error()) // only a programming error gets here
	}
}

func paramDuration(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		panic("config: bad duration parameter " + strconv.Quote(s))
	}
	return d
}

// structInfo is what decoding and validation need to know of a struct
// type: the yaml names of its fields and each field's rules.
type structInfo struct {
	names  []string
	fields map[string]int // yaml name → field index
	checks []fieldInfo    // by field index
}

// fieldInfo is one field's name and rules, read from its tags once.
type fieldInfo struct {
	name string     // yaml name
	own  fieldCheck // the value's own rules
	dive bool       // the rules after "dive" apply to each element
	elem fieldCheck // ...which are these
}

// fieldCheck is one value's rules: a validator tag, then Go rules.
type fieldCheck struct {
	tag       string // for the validator; "" when none
	required  bool   // tag is "required" alone
	omitempty bool   // an empty value skips the Go rules too
	funcs     []func(string) error
}

// structInfos reads the field tables of root and of every struct type it
// holds.
func structInfos(root reflect.Type, rules map[string]func(string) error) map[reflect.Type]*structInfo {
	infos := make(map[reflect.Type]*structInfo)
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t == reflect.TypeFor[time.Time]() || infos[t] != nil {
			return
		}
		si := &structInfo{fields: make(map[string]int), checks: make([]fieldInfo, t.NumField())}
		infos[t] = si
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" {
				name = ""
			}
			if name != "" {
				si.names = append(si.names, name)
				si.fields[name] = i
			}
			si.checks[i] = parseTag(name, f.Tag.Get("validate"), rules)
			walk(f.Type)
		}
	}
	walk(root)
	return infos
}

// parseTag splits a `validate` tag at "dive" and each part into the
// validator's rules and the Go rules.
func parseTag(name, tag string, rules map[string]func(string) error) fieldInfo {
	fi := fieldInfo{name: name}
	parts := strings.Split(tag, ",")
	if i := slices.Index(parts, "dive"); i >= 0 {
		fi.dive, fi.elem = true, splitRules(parts[i+1:], rules)
		parts = parts[:i]
	}
	fi.own = splitRules(parts, rules)
	return fi
}

func splitRules(parts []string, rules map[string]func(string) error) fieldCheck {
	var c fieldCheck
	var tags []string
	for _, r := range parts {
		switch fn, ok := rules[r]; {
		case r == "":
		case ok:
			c.funcs = append(c.funcs, fn)
		case len(c.funcs) > 0:
			panic("config: validator rule " + strconv.Quote(r) + " after a Go rule in " + strconv.Quote(strings.Join(parts, ",")))
		default:
			tags = append(tags, r)
			c.omitempty = c.omitempty || r == "omitempty"
		}
	}
	c.tag = strings.Join(tags, ",")
	if c.tag == "omitempty" {
		c.tag = "" // only says whether the Go rules run
	}
	c.required = c.tag == "required"
	return c
}

// validate checks the rules of cfg's fields, each struct's fields in order
// and then the rules between them, as the validator's own Struct walk
// would: among problems placed at the same position, that is their order.
// Each problem is placed on the node its value was decoded from, or, for a
// value the file does not write, on the nearest one that it does.
func (p *parseRun) validate(cfg *Config) {
	v := reflect.ValueOf(cfg).Elem()
	si := p.info(v.Type())
	root, _ := p.nodesOf(v, si)
	p.validateStruct(v, si, root, nil)
}

// validateStruct checks the struct v, of field table si, decoded from at.
// Its path is built only for a problem: most values have none.
func (p *parseRun) validateStruct(v reflect.Value, si *structInfo, at nodes, path *ypath) {
	for i := range si.checks {
		fi := &si.checks[i]
		fv := v.Field(i)
		var node *yaml.Node
		if at.fields != nil {
			node = at.fields[i]
		}
		pos := at.ref // where a problem of a value the file leaves out goes
		if node != nil {
			pos = deref(node)
		}
		if !p.check(fv, &fi.own, node != nil, pos, ypath{parent: path, key: fi.name}) {
			continue
		}
		switch t := fv.Type(); {
		case t.Kind() == reflect.Struct && t != reflect.TypeFor[time.Time]():
			p.validateNested(fv, pos, &ypath{parent: path, key: fi.name})
		case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct && t.Elem() != reflect.TypeFor[time.Time]():
			if !fv.IsNil() {
				p.validateNested(fv.Elem(), pos, &ypath{parent: path, key: fi.name})
			}
		case fi.dive && t.Kind() == reflect.Slice:
			p.validateElems(fv, fi, node, &ypath{parent: path, key: fi.name})
		}
	}
	if field, msg := crossField(v); msg != "" {
		i := si.fields[field]
		pos, fpath := at.ref, (&ypath{parent: path, key: field}).String()
		if at.fields != nil && at.fields[i] != nil {
			pos = deref(at.fields[i])
		}
		if !p.suppressed(fpath) {
			p.add(pos, fpath, ErrInvalid, "%s", msg)
		}
	}
}

// validateNested checks the struct v at path. A struct the file leaves out
// is placed at pos, its nearest enclosing value.
func (p *parseRun) validateNested(v reflect.Value, pos *yaml.Node, path *ypath) {
	si := p.info(v.Type())
	at, ok := p.nodesOf(v, si)
	if !ok {
		at = nodes{ref: pos}
	}
	p.validateStruct(v, si, at, path)
}

// validateElems checks each element of the slice v against the rules after
// "dive"; node is the slice's node.
func (p *parseRun) validateElems(v reflect.Value, fi *fieldInfo, node *yaml.Node, path *ypath) {
	var seq *yaml.Node
	if node != nil {
		seq = deref(node)
	}
	for k := range v.Len() {
		ev := v.Index(k)
		var en *yaml.Node
		if seq != nil && k < len(seq.Content) {
			en = deref(seq.Content[k])
		}
		if ev.Kind() == reflect.Struct {
			p.validateNested(ev, en, &ypath{parent: path, index: k})
			continue
		}
		p.check(ev, &fi.elem, en != nil, en, ypath{parent: path, index: k})
	}
}

// check runs the rules c on the value v at pos, reporting the first that
// fails. present tells whether the file writes the value (a missing key
// and an empty value read differently). It reports whether v passed. The
// path is passed by value, to be built only for a problem.
func (p *parseRun) check(v reflect.Value, c *fieldCheck, present bool, pos *yaml.Node, path ypath) bool {
	// A value that is not zero passes "required" (the validator's
	// definition): the common case is decided without boxing v for it.
	if c.tag != "" && !(c.required && !v.IsZero()) {
		if err := p.ps.v.Var(v.Interface(), c.tag); err != nil {
			p.reportTag(err, present, pos, path.String())
			return false
		}
	}
	if len(c.funcs) == 0 || c.omitempty && v.IsZero() {
		return true
	}
	s := v.String()
	for _, rule := range c.funcs {
		if err := rule(s); err != nil {
			if path := path.String(); !p.suppressed(path) {
				p.add(pos, path, causeOf(err), "%s", err)
			}
			return false
		}
	}
	return true
}

// reportTag reports the validator's verdict err on the value at path.
func (p *parseRun) reportTag(err error, present bool, pos *yaml.Node, path string) {
	ves, ok := err.(validator.ValidationErrors)
	if !ok || len(ves) == 0 {
		panic("config: " + err.Error()) // a tag the validator cannot read
	}
	if p.suppressed(path) {
		return
	}
	msg, cause := fieldMessage(ves[0], present)
	if path == "service.instance" && !present && ves[0].Tag() == "required" {
		msg = "is required (it defaults to the host name, which is not known here)"
	}
	p.add(pos, path, cause, "%s", msg)
}

// crossField checks the rules between two fields of one struct and names
// the field a problem is reported on.
func crossField(v reflect.Value) (field, msg string) {
	switch x := v.Addr().Interface().(type) {
	case *HealthCheck:
		if x.Interval > 0 && x.Timeout > 0 && x.Timeout >= x.Interval {
			return "timeout", fmt.Sprintf("%v must be shorter than the interval (%s)", x.Timeout, x.Interval)
		}
	case *Backoff:
		if x.Initial > 0 && x.Max < x.Initial {
			return "max", fmt.Sprintf("%v must not be shorter than initial (%s)", x.Max, x.Initial)
		}
	case *Maintenance:
		return untilAfterFrom(x.From, x.Until)
	case *Window:
		return untilAfterFrom(x.From, x.Until)
	}
	return "", ""
}

// untilAfterFrom requires a window to end after it starts.
func untilAfterFrom(from, until *time.Time) (field, msg string) {
	if from != nil && until != nil && !until.After(*from) {
		return "until", fmt.Sprintf("%s must be after from (%s)", until.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	return "", ""
}

// fieldMessage words one validator error. present tells whether the key is
// in the file (a missing key and an empty value read differently).
func fieldMessage(fe validator.FieldError, present bool) (msg string, cause error) {
	val := fe.Value()
	if d, ok := val.(Duration); ok {
		val = d.String()
	}
	isDur := fe.Type() == reflect.TypeFor[Duration]()
	switch fe.Tag() {
	case "required":
		switch {
		case !present:
			return "is required", ErrMissing
		case isDur:
			return "must be a positive duration", ErrMissing
		case fe.Kind() == reflect.String || fe.Kind() == reflect.Slice:
			return "must not be empty", ErrMissing
		}
		return "must not be 0", ErrMissing
	case "gt":
		if isDur {
			return fmt.Sprintf("must be a positive duration (got %v)", val), ErrInvalid
		}
		return fmt.Sprintf("must be greater than %s (got %v)", fe.Param(), val), ErrInvalid
	case "gte":
		return fmt.Sprintf("must be at least %s (got %v)", fe.Param(), val), ErrInvalid
	case "lte":
		return fmt.Sprintf("must be at most %s (got %v)", fe.Param(), val), ErrInvalid
	case "min", "max":
		if fe.Kind() == reflect.Slice {
			n := reflect.ValueOf(fe.Value()).Len()
			if fe.Tag() == "min" {
				return fmt.Sprintf("must list at least %s entry", fe.Param()), ErrMissing
			}
			return fmt.Sprintf("lists %d entries; the limit is %s", n, fe.Param()), ErrTooLong
		}
		return fmt.Sprintf("must be between 1 and 65535 (got %v)", val), ErrInvalid
	case "oneof":
		return fmt.Sprintf("%s is not one of %s", quote(fmt.Sprint(val)), strings.ReplaceAll(fe.Param(), " ", ", ")), ErrInvalid
	case "cidr":
		return fmt.Sprintf("%s is not a CIDR block (e.g. \"10.0.0.0/8\")", quote(fmt.Sprint(val))), ErrInvalid
	case "maxbytes":
		s := fmt.Sprint(val)
		return fmt.Sprintf("%s is %d bytes long; the limit is %s", quote(s), len(s), fe.Param()), ErrTooLong
	case "durmin":
		return fmt.Sprintf("must be at least %s (got %v)", fe.Param(), val), ErrInvalid
	case "durmax":
		return fmt.Sprintf("must be at most %s (got %v)", fe.Param(), val), ErrInvalid
	case "offormin":
		return fmt.Sprintf("must be 0 (off) or at least %s (got %v)", fe.Param(), val), ErrInvalid
	}
	return fmt.Sprintf("fails the %q rule", fe.Tag()), ErrInvalid
}

// mapValue returns the value node of key in mapping n, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// mapKey returns the key node of key in mapping n, or n itself.
func mapKey(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i]
		}
	}
	return n
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; i < 8 && n.Kind == yaml.AliasNode && n.Alias != nil; i++ {
		n = n.Alias
	}
	return n
}
