package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-playground/validator/v10"
	"gopkg.in/yaml.v3"
)

// stringRules are the custom validator tags on string fields (see the
// `validate` tags in types.go). The same function decides and words the
// message, so the two cannot disagree.
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

// newValidator builds the validator for the Config types. It is built per
// Parse (no package state); that costs about 20 µs, small next to parsing.
func newValidator(rules map[string]func(string) error) *validator.Validate {
	v := validator.New()
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		return name
	})
	for tag, rule := range rules {
		mustRegister(v, tag, func(fl validator.FieldLevel) bool { return rule(fl.Field().String()) == nil })
	}
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
	v.RegisterStructValidation(func(sl validator.StructLevel) {
		hc := sl.Current().Interface().(HealthCheck)
		if hc.Interval > 0 && hc.Timeout > 0 && hc.Timeout >= hc.Interval {
			sl.ReportError(hc.Timeout, "timeout", "Timeout", "ltinterval", hc.Interval.String())
		}
	}, HealthCheck{})
	v.RegisterStructValidation(func(sl validator.StructLevel) {
		b := sl.Current().Interface().(Backoff)
		if b.Initial > 0 && b.Max < b.Initial {
			sl.ReportError(b.Max, "max", "Max", "gteinitial", b.Initial.String())
		}
	}, Backoff{})
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

// validateStruct runs the tag validation and turns each field error into an
// *Error placed on the YAML node of the field.
func (p *parser) validateStruct(cfg *Config) {
	rules := stringRules()
	err := newValidator(rules).Struct(cfg)
	var ves validator.ValidationErrors
	if !errors.As(err, &ves) {
		if err != nil {
			p.add(p.doc, "", ErrInvalid, "%v", err)
		}
		return
	}
	for _, fe := range ves {
		_, path, _ := strings.Cut(fe.Namespace(), ".")
		if p.suppressed(path) {
			continue
		}
		n, exact := lookupNode(p.doc, path)
		msg, cause := fieldMessage(fe, exact, rules)
		if path == "service.instance" && !exact && fe.Tag() == "required" {
			msg = "is required (it defaults to the host name, which is not known here)"
		}
		p.add(n, path, cause, "%s", msg)
	}
}

// fieldMessage words one validator error. present tells whether the key is
// in the file (a missing key and an empty value read differently).
func fieldMessage(fe validator.FieldError, present bool, rules map[string]func(string) error) (msg string, cause error) {
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
	case "ltinterval":
		return fmt.Sprintf("%v must be shorter than the interval (%s)", val, fe.Param()), ErrInvalid
	case "gteinitial":
		return fmt.Sprintf("%v must not be shorter than initial (%s)", val, fe.Param()), ErrInvalid
	}
	if rule, ok := rules[fe.Tag()]; ok {
		if err := rule(fmt.Sprint(fe.Value())); err != nil {
			return err.Error(), causeOf(err)
		}
	}
	return fmt.Sprintf("fails the %q rule", fe.Tag()), ErrInvalid
}

// lookupNode finds the node of a path such as "routes[1].domains[0]" in
// the document. When the path does not exist in the file (a missing key) it
// returns the deepest ancestor that does, with exact false.
func lookupNode(doc *yaml.Node, path string) (*yaml.Node, bool) {
	n := doc
	if path == "" {
		return n, true
	}
	for seg := range strings.SplitSeq(path, ".") {
		name, idx, _ := strings.Cut(seg, "[")
		if next := mapValue(n, name); next != nil {
			n = next
		} else {
			return n, false
		}
		for idx != "" {
			num, rest, _ := strings.Cut(idx, "]")
			i, _ := strconv.Atoi(num)
			idx = strings.TrimPrefix(rest, "[")
			n = deref(n)
			if n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return n, false
			}
			n = n.Content[i]
		}
	}
	return deref(n), true
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
