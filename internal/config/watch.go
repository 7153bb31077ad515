package config

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"regagent/internal/regularfile"
)

// Update is one new content of the watched file, valid or not.
type Update struct {
	// Config is the parsed file; nil when Err is set. An invalid file never
	// replaces the last good Config: the consumer keeps it.
	Config *Config
	// Err is Errors for an invalid file, or a read error (the file is
	// missing or unreadable).
	Err error
	// Hash is the SHA-256 (hex) of the content; "" when it could not be read.
	Hash string
	// Routes is the number of routes of Config.
	Routes int
}

// WatchOptions configure Watch.
type WatchOptions struct {
	// Parse is passed to Parse for every content; Filename defaults to the
	// watched path. Lookup is called on every parse.
	Parse ParseOptions
	// Debounce is how long events must be quiet before the file is read
	// again after a write in place (or a burst of renames); 0 means
	// DefaultDebounce. A save by rename into place needs none. A stream of
	// events that never pauses is still read every 10 debounce periods.
	Debounce time.Duration
	// PollInterval is the period of a content check that needs no file
	// event (network file systems, some bind mounts); 0 disables it.
	PollInterval time.Duration
	// Hash is the hash of the content the caller already holds (from Load):
	// the first delivery is skipped when the file still has that content.
	Hash string
	// Reload, when it receives, makes Watch read, parse and deliver the
	// file at once even if its content is unchanged (SIGHUP, or a variable
	// such as SELF_IP changed). Parses stay on Watch's goroutine, so a
	// forced one is never overtaken by an older one.
	Reload <-chan struct{}

	clock    func() time.Time // tests and benchmarks: time.Now when nil
	onAtomic func()           // tests: a save by rename was seen
}

// Watch delivers the file at path to fn now and then every time its content
// changes, until ctx ends; then it returns nil. fn runs on Watch's goroutine
// (one at a time, in order) and should not block for long.
//
// Watch watches the parent directory, not the file, and resolves symlinks
// again on every change, so editors that save by rename, delete and
// recreate, and the Kubernetes ConfigMap "..data" symlink swap all work.
// A save by rename into place is read at once: its content is complete
// when it appears. Other changes (a write in place may be half done) are
// debounced, and so are renames in a burst; a content whose hash equals
// the last delivered one is not delivered again. After a burst settles, the
// last delivery matches the file.
func Watch(ctx context.Context, path string, opts WatchOptions, fn func(Update)) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("cannot watch config: %w", err)
	}
	if opts.Debounce <= 0 {
		opts.Debounce = DefaultDebounce
	}
	if opts.Parse.Filename == "" {
		opts.Parse.Filename = path
	}
	w := &watcher{path: abs, opts: opts, fn: fn, last: opts.Hash, dirs: make(map[string]bool), parser: NewParser()}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("cannot watch config: %w", err)
	}
	defer fw.Close()
	if err := fw.Add(filepath.Dir(abs)); err != nil {
		return fmt.Errorf("cannot watch config: %w", err)
	}
	w.fs = fw
	return w.run(ctx, fw.Events, fw.Errors)
}

// watcher is the state of one Watch call, owned by its goroutine.
type watcher struct {
	path string
	opts WatchOptions
	fn   func(Update)
	fs   *fsnotify.Watcher
	real string          // path with every symlink resolved
	dirs map[string]bool // extra directories watched (symlink targets)
	last string          // hash, or error text, of the last delivery
	// parser parses every content, with the validator built once.
	parser *Parser

	// held is the hash of an invalid content seen once and not delivered
	// yet: an editor saving in place can show a half-written file, so an
	// invalid content is reported only once it has stayed for a debounce
	// period (recheck asks run for that second look). force skips the wait.
	held    string
	recheck bool
	force   bool
}

func (w *watcher) run(ctx context.Context, events chan fsnotify.Event, errs chan error) error {
	var poll <-chan time.Time
	if w.opts.PollInterval > 0 {
		t := time.NewTicker(w.opts.PollInterval)
		defer t.Stop()
		poll = t.C
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	now := time.Now
	if w.opts.clock != nil {
		now = w.opts.clock
	}
	var pendingSince time.Time // zero: no change pending
	var lastAtomic time.Time   // the last atomic save seen
	afterRename := false       // the previous event was a rename's first half

	check := func() {
		w.rewatch()
		w.check(ctx)
		if w.recheck {
			w.recheck = false
			timer.Reset(w.opts.Debounce)
		}
	}
	check()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			// inotify reports a rename within a watched directory as two
			// events in a row: Rename for the old name, Create for the new.
			atomic := afterRename && ev.Has(fsnotify.Create)
			afterRename = ev.Has(fsnotify.Rename)
			if !w.relevant(ev.Name) {
				continue
			}
			// A rename into place (an editor's or a GitOps tool's
			// temp+rename, the ConfigMap "..data" swap) shows a complete
			// content the moment it appears: read it at once. Only the
			// first of a burst: renames closer than a debounce period
			// apart are a storm, coalesced like in-place writes.
			if atomic {
				if w.opts.onAtomic != nil {
					w.opts.onAtomic()
				}
				t := now()
				isolated := lastAtomic.IsZero() || t.Sub(lastAtomic) >= w.opts.Debounce
				lastAtomic = t
				if isolated {
					check()
					continue
				}
			}
		case _, ok := <-errs:
			// An overflow (or any watcher error) may hide a change: check.
			if !ok {
				errs = nil
				continue
			}
		case <-poll:
			check()
			continue
		case <-w.opts.Reload:
			w.last, w.force = "", true // deliver now, even an unchanged content
			check()
			w.force = false
			continue
		case <-timer.C:
			pendingSince = time.Time{}
			check()
			continue
		}
		// An in-place write (or a create, a removal: the file may still
		// be being written) or a storm: (re)arm the debounce timer.
		t := now()
		if pendingSince.IsZero() {
			pendingSince = t
		}
		wait := w.opts.Debounce
		if maxWait := 10 * w.opts.Debounce; t.Sub(pendingSince)+wait > maxWait {
			wait = max(0, maxWait-t.Sub(pendingSince))
		}
		timer.Reset(wait)
	}
}

// relevant tells whether an event may change what path reads: the file
// itself, a Kubernetes "..data" style entry, or the resolved target.
func (w *watcher) relevant(name string) bool {
	base := filepath.Base(name)
	return base == filepath.Base(w.path) || strings.HasPrefix(base, "..") || name == w.real
}

// rewatch resolves the symlinks of path again and watches the directory of
// the real file when it lies outside the parent directory.
func (w *watcher) rewatch() {
	real, err := filepath.EvalSymlinks(w.path)
	if err != nil {
		real = w.path
	}
	w.real = real
	want := filepath.Dir(real)
	if want == filepath.Dir(w.path) {
		want = ""
	}
	for d := range w.dirs {
		if d != want {
			_ = w.fs.Remove(d) // the directory may be gone already
			delete(w.dirs, d)
		}
	}
	if want != "" && !w.dirs[want] && w.fs.Add(want) == nil {
		w.dirs[want] = true
	}
}

// check reads the file and delivers it if it differs from the last delivery.
// It never blocks on what sits at the path (see regularfile) and gives up when
// ctx ends, so that Watch returns promptly whatever it was doing.
func (w *watcher) check(ctx context.Context) {
	data, err := regularfile.Read(ctx, w.path, maxFileSize)
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		key := "error: " + err.Error()
		u := Update{Err: readError(w.opts.Parse.Filename, err)}
		switch {
		case errors.Is(err, os.ErrNotExist):
			key = "error: missing"
		case errors.Is(err, regularfile.ErrTooLarge):
			// A file that keeps growing changes its size at every look:
			// report it once.
			key = "error: too large"
		}
		if key != w.last {
			w.last = key
			w.fn(u)
		}
		return
	}
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:])
	if hash == w.last {
		return
	}
	u := Update{Hash: hash}
	if cfg, err := w.parser.parse(data, w.opts.Parse); err != nil {
		u.Err = err
	} else {
		u.Config, u.Routes = cfg, len(cfg.Routes)
	}
	if u.Err != nil && !w.force && w.held != hash {
		w.held, w.recheck = hash, true
		return
	}
	w.held, w.last = "", hash
	w.fn(u)
}
