package maintpage

import (
	"context"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// startWatch runs a watcher of file until the file changes (Update) or the
// Server closes.
func (s *Server) startWatch(file string) {
	ctx, cancel := context.WithCancel(s.ctx)
	done := make(chan struct{})
	s.mu.Lock()
	s.stopWatch = func() {
		cancel()
		<-done
	}
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(done)
		s.watch(ctx, file)
	}()
}

// watch reads file again when its directory reports a change to it, once
// changes pause for the debounce period, and every poll interval. Like the
// config file's watcher it watches the directory, not the file, so that a
// save by rename, a delete and recreate, and the Kubernetes ConfigMap
// "..data" symlink swap are all seen; an unchanged content is not reported.
func (s *Server) watch(ctx context.Context, file string) {
	var events <-chan fsnotify.Event
	var errs <-chan error
	fw, err := fsnotify.NewWatcher()
	if err == nil {
		defer fw.Close()
		err = fw.Add(filepath.Dir(file))
		if real, rerr := filepath.EvalSymlinks(file); err == nil && rerr == nil && filepath.Dir(real) != filepath.Dir(file) {
			_ = fw.Add(filepath.Dir(real)) // a symlink out of the directory: its target's too
		}
		events, errs = fw.Events, fw.Errors
	}
	if err != nil {
		s.log.Warn("cannot watch the maintenance page file; it is read again on reload and each poll interval",
			"file", file, "err", err)
	}
	var poll <-chan time.Time
	if s.opts.PollInterval > 0 {
		t := time.NewTicker(s.opts.PollInterval)
		defer t.Stop()
		poll = t.C
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var pendingSince time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if !relevant(file, ev.Name) {
				continue
			}
		case _, ok := <-errs:
			// An overflow may hide a change: look again.
			if !ok {
				errs = nil
				continue
			}
		case <-poll:
			s.reload(file)
			continue
		case <-timer.C:
			pendingSince = time.Time{}
			s.reload(file)
			continue
		}
		now := time.Now()
		if pendingSince.IsZero() {
			pendingSince = now
		}
		wait := s.opts.Debounce
		if maxWait := 10 * s.opts.Debounce; now.Sub(pendingSince)+wait > maxWait {
			wait = max(0, maxWait-now.Sub(pendingSince))
		}
		timer.Reset(wait)
	}
}

// relevant tells whether an event on name may change what file reads: the
// file itself, a Kubernetes "..data" style entry, or its symlink's target.
func relevant(file, name string) bool {
	base := filepath.Base(name)
	if base == filepath.Base(file) || strings.HasPrefix(base, "..") {
		return true
	}
	real, err := filepath.EvalSymlinks(file)
	return err == nil && name == real
}
