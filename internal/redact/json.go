package redact

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Copy returns a copy of v in which every string, map keys included, is
// masked as String does, and every string held under a sensitive name (an
// option or header value) is masked whole. It goes through v's JSON form, so
// it sees exactly what an encoder would show; changed reports whether
// anything was masked.
func Copy[T any](r *Redactor, v T) (out T, changed bool, err error) {
	b, err := json.Marshal(v)
	if err != nil {
		return out, false, fmt.Errorf("cannot redact: %w", err)
	}
	tree, changed, err := r.tree(b)
	if err != nil {
		return out, false, err
	}
	if !changed {
		return v, false, nil
	}
	if b, err = json.Marshal(tree); err != nil {
		return out, false, fmt.Errorf("cannot redact: %w", err)
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return out, false, fmt.Errorf("cannot redact: %w", err)
	}
	return out, true, nil
}

// Any returns v as a masked JSON tree (maps, slices, strings, json.Number,
// bools), for values rendered by reflection such as log attributes.
func (r *Redactor) Any(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("cannot redact: %w", err)
	}
	tree, _, err := r.tree(b)
	return tree, err
}

func (r *Redactor) tree(doc []byte) (any, bool, error) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber() // numbers come back exactly as they went
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, false, fmt.Errorf("cannot redact: %w", err)
	}
	w := walker{r: r}
	return w.walk(tree, ""), w.changed, nil
}

type walker struct {
	r       *Redactor
	changed bool
}

func (w *walker) str(s, key string) string {
	m := w.r.Value(key, s)
	if m != s {
		w.changed = true
	}
	return m
}

func (w *walker) walk(v any, key string) any {
	switch x := v.(type) {
	case string:
		return w.str(x, key)
	case []any:
		for i := range x {
			x[i] = w.walk(x[i], key)
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[w.str(k, "")] = w.walk(e, k)
		}
		return out
	}
	return v
}
