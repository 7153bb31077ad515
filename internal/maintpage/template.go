package maintpage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"path/filepath"
	"time"

	"regagent/internal/regularfile"
)

// MaxTemplateSize bounds the operator's template file.
const MaxTemplateSize = 1 << 20

// TemplateEvent reports a load of the page's File whose outcome differs
// from the last one: a new content in force (Err nil), or a file that could
// not be read, parsed or rendered, in which case the last good content of
// that file (or the built-in page) stays.
type TemplateEvent struct {
	File string
	Hash string // SHA-256 (hex) of the content; "" when it could not be read
	Err  error
}

// loaded is one content of the template file.
type loaded struct {
	hash string
	tmpl *template.Template
}

// loadTemplate reads and parses the template at path, and renders it with
// p's data, once with an announced end and once without, so that a template
// that fails on either is refused when it is loaded rather than on requests.
func loadTemplate(path string, p Page, now time.Time) (*loaded, string, error) {
	data, err := regularfile.Read(context.Background(), path, MaxTemplateSize)
	if err != nil {
		return nil, "", fmt.Errorf("cannot read maintenance page: %w", err)
	}
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:])
	if len(bytes.TrimSpace(data)) == 0 {
		// Never meant as a page; also what a save in place shows between
		// its truncate and its write.
		return nil, hash, fmt.Errorf("cannot use maintenance page: %s is empty", path)
	}
	t, err := template.New(filepath.Base(path)).Parse(string(data))
	if err != nil {
		return nil, hash, fmt.Errorf("cannot parse maintenance page: %w", err)
	}
	until := now.Add(time.Hour)
	for _, u := range []*time.Time{nil, &until} {
		p.Until = u
		if _, err := render(t, p.data(now)); err != nil {
			return nil, hash, fmt.Errorf("cannot render maintenance page: %w", err)
		}
	}
	return &loaded{hash: hash, tmpl: t}, hash, nil
}
