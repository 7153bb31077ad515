package maintpage

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"
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
	data, err := readRegular(path, MaxTemplateSize)
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

// readRegular returns the content of the regular file at path, at most
// limit bytes, without blocking on what sits there: a FIFO would block the
// open until a writer comes, a device never ends. The type is checked on
// the path and again on the descriptor, opened non-blocking, since the path
// may be swapped in between; the read stops at limit+1 bytes, so that a
// file that grows after the check is refused too.
func readRegular(path string, limit int64) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if err := regular(path, fi, limit); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	if err := regular(path, fi, limit); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s is over %d bytes", path, limit)
	}
	return data, nil
}

func regular(path string, fi fs.FileInfo, limit int64) error {
	switch {
	case !fi.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file (%s)", path, fi.Mode().Type())
	case fi.Size() > limit:
		return fmt.Errorf("%s is %d bytes; the limit is %d", path, fi.Size(), limit)
	}
	return nil
}
