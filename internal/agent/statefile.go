package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"regagent/internal/config"
	"regagent/internal/reconcile"
)

const (
	// stateOff as the state file's path disables the state file.
	stateOff = "off"
	// stateFormat is the version of the state file's layout; a file of
	// another version is ignored rather than misread.
	stateFormat = 1
	// maxStateSize bounds what is read at start. The state holds at most
	// the routes of two versions of the file (those applied and those a
	// plan was about to apply), and a config file is capped at 32 MiB, so
	// a larger state file is not one this agent wrote.
	maxStateSize = 64 << 20
	// defaultStateDir is where the state file lives when neither the file
	// nor systemd (StateDirectory=) says otherwise; the container examples
	// mount a writable volume there.
	defaultStateDir  = "/var/lib/regagent"
	defaultStateName = "regagent.state"
	// lostOnRestart says what a restart cannot clean up without a state
	// file: nothing on the wire tells a new process what a dead one left
	// served (PROTOCOL.md §7).
	lostOnRestart = "after a restart, routes deleted from the file while the agent was down, " +
		"and maintenance entered for backends no longer in it, cannot be removed from the proxy"
)

// stateDoc is the state file's content.
type stateDoc struct {
	Format int `json:"format"`
	reconcile.Memory
}

// resolveStatePath picks the state file: the flag, else the file's
// state.file, else $STATE_DIRECTORY (systemd's StateDirectory=, the first
// of its colon-separated paths), else the default directory. "" comes
// back when the state file is off.
func resolveStatePath(flag, key string, lookup func(string) (string, bool)) string {
	p := flag
	if p == "" {
		p = key
	}
	switch {
	case p == stateOff:
		return ""
	case p != "":
		return p
	}
	if dirs, ok := lookup("STATE_DIRECTORY"); ok {
		if dir, _, _ := strings.Cut(dirs, ":"); dir != "" {
			return filepath.Join(dir, defaultStateName)
		}
	}
	return filepath.Join(defaultStateDir, defaultStateName)
}

// stateFile keeps what this process made live on disk, for the next
// process. Failures are warnings: the agent runs without it, it only cleans
// up less after a restart.
type stateFile struct {
	path              string
	service, instance string
	log               *slog.Logger

	mu      sync.Mutex
	last    []byte // content of the last successful write (or of the file read)
	lastErr string // the last write error warned about; "" after a success
}

func newStateFile(path, service, instance string, log *slog.Logger) *stateFile {
	return &stateFile{path: path, service: service, instance: instance, log: log}
}

// load reads what the previous process made live. It returns nil, after a
// warning, when there is nothing usable: no file is the first start and
// only worth an information.
func (s *stateFile) load() *reconcile.Memory {
	m, err := s.read()
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.log.Info("no state file yet; nothing inherited from an earlier process", "state_file", s.path)
		return nil
	case err != nil:
		s.log.Warn("ignoring the state file; "+lostOnRestart, "state_file", s.path, "err", err)
		return nil
	case m.Service != s.service || m.Instance != s.instance:
		s.log.Warn("ignoring the state file of another service or instance; "+lostOnRestart,
			"state_file", s.path, "file_service", m.Service, "file_instance", m.Instance,
			"service", s.service, "instance", s.instance)
		return nil
	}
	s.log.Info("state file read", "state_file", s.path, "routes", len(m.Routes),
		"maintenance", len(m.Maintenance), "maintenance_all", m.MaintenanceAll)
	return m
}

func (s *stateFile) read() (*reconcile.Memory, error) {
	f, err := os.Open(s.path)
	if err != nil {
		return nil, fmt.Errorf("cannot open the state file: %w", unwrapPath(err))
	}
	defer f.Close()
	// The size is checked before reading, and the read is bounded too, in
	// case the file grows meanwhile.
	if fi, err := f.Stat(); err == nil && fi.Size() > maxStateSize {
		return nil, fmt.Errorf("the state file is larger than %d MiB", maxStateSize>>20)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxStateSize+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read the state file: %w", unwrapPath(err))
	}
	if len(data) > maxStateSize {
		return nil, fmt.Errorf("the state file is larger than %d MiB", maxStateSize>>20)
	}
	// Unknown fields are ignored: a newer agent may add some, and an older
	// one still reads the routes; an incompatible change bumps the format.
	var doc stateDoc
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("the state file is corrupt: %w", err)
	}
	if doc.Format != stateFormat {
		return nil, fmt.Errorf("the state file has format %d, this agent reads %d", doc.Format, stateFormat)
	}
	if err := checkMemory(&doc.Memory); err != nil {
		return nil, fmt.Errorf("the state file is corrupt: %w", err)
	}
	s.mu.Lock()
	s.last = data
	s.mu.Unlock()
	return &doc.Memory, nil
}

// checkMemory refuses what the purge could not send: its values go on the
// wire, where '|' splits fields and CR or LF ends a line (PROTOCOL.md §1).
func checkMemory(m *reconcile.Memory) error {
	bad := func(v string) bool { return v == "" || strings.ContainsAny(v, "|\r\n") }
	for i, r := range m.Routes {
		if len(r.Domains) == 0 || !strings.HasPrefix(r.Path, "/") || bad(r.Path) || bad(r.Backend) {
			return fmt.Errorf("route %d is incomplete or holds a '|', CR or LF", i)
		}
		for _, d := range r.Domains {
			if bad(d) || strings.Contains(d, ",") {
				return fmt.Errorf("route %d has an invalid domain %q", i, d)
			}
		}
	}
	// Backends are not quoted: a URL may carry a password.
	for b, page := range m.Maintenance {
		if bad(b) || strings.ContainsAny(page, "|\r\n") {
			return errors.New("a maintenance backend or page is empty or holds a '|', CR or LF")
		}
	}
	return nil
}

// remember writes m, unless the file already holds exactly it. The
// reconciler calls it before and after each plan, on its goroutine.
func (s *stateFile) remember(m reconcile.Memory) {
	if m.Service == "" && m.Instance == "" {
		m.Service, m.Instance = s.service, s.instance
	}
	data, err := json.Marshal(stateDoc{Format: stateFormat, Memory: m})
	if err != nil { // cannot happen for these types; never crash for it
		s.warnWrite(fmt.Errorf("cannot encode the state: %w", err))
		return
	}
	data = append(data, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if bytes.Equal(data, s.last) {
		return
	}
	if err := writeAtomic(s.path, data); err != nil {
		s.warnWriteLocked(err)
		return
	}
	if s.lastErr != "" {
		s.log.Info("state file written again", "state_file", s.path)
	}
	s.last, s.lastErr = data, ""
}

func (s *stateFile) warnWrite(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.warnWriteLocked(err)
}

// warnWriteLocked warns once per distinct error: a read-only volume fails
// every write the same way, and one warning says it all.
func (s *stateFile) warnWriteLocked(err error) {
	if err.Error() == s.lastErr {
		return
	}
	s.lastErr = err.Error()
	s.log.Warn("cannot write the state file; "+lostOnRestart, "state_file", s.path, "err", err)
}

// writeAtomic replaces path with data so that a crash at any point leaves
// either the old content or the new, never a mix: a temporary file in the
// same directory (rename is atomic only within a file system), synced
// before the rename, and the directory synced after it so the rename
// itself survives a power loss.
func writeAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := createTemp(path)
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("cannot write the state: %w", unwrapPath(err))
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("cannot sync the state: %w", unwrapPath(err))
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cannot close the state: %w", unwrapPath(err))
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("cannot rename the state into place: %w", unwrapLink(err))
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("cannot open %s to sync it: %w", dir, unwrapPath(err))
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("cannot sync %s: %w", dir, unwrapPath(err))
	}
	return nil
}

// createTemp creates the temporary file of an atomic write of path.
func createTemp(path string) (*os.File, error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("cannot create a temporary file in %s: %w", dir, unwrapPath(err))
	}
	return f, nil
}

// probe tells at start whether the state file can be written (a missing or
// read-only volume), rather than at the first apply, which may come much
// later while the proxy is unreachable. The first write then fails the same
// way and is not warned about twice.
func (s *stateFile) probe() {
	f, err := createTemp(s.path)
	if err != nil {
		s.warnWrite(err)
		return
	}
	f.Close()
	os.Remove(f.Name())
}

// unwrapPath drops the path of a *fs.PathError: the temporary file's name
// is random, and errors that differ only by it are one error to warn about.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func unwrapLink(err error) error {
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// openState resolves the state file for cfg and reads what the previous
// process made live. Without a state file, it says what a restart cannot
// clean up; the reconciler still purges every route the file names.
func (a *Agent) openState(cfg *config.Config) (inherited *reconcile.Memory, remember func(reconcile.Memory)) {
	path := resolveStatePath(a.opts.StateFile, cfg.State.File, a.opts.Lookup)
	if path == "" {
		a.log.Warn("the state file is off; " + lostOnRestart)
		return nil, nil
	}
	sf := newStateFile(path, cfg.Service.Name, cfg.Service.Instance, a.log)
	inherited = sf.load()
	sf.probe()
	return inherited, sf.remember
}
