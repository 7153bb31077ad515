package config

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// TopWindowName is the name of the window the maintenance block itself
// makes when it is enabled.
const TopWindowName = "maintenance"

// Active reports whether the window is in force at now: not before From,
// not past Until; a bound left out does not bound.
func (w *Window) Active(now time.Time) bool {
	return (w.From == nil || !now.Before(*w.From)) && (w.Until == nil || now.Before(*w.Until))
}

// Ended reports whether the window is over at now.
func (w *Window) Ended(now time.Time) bool {
	return w.Until != nil && !now.Before(*w.Until)
}

// window is the maintenance block as a window, switched on or not.
func (m *Maintenance) window() Window {
	return Window{Name: TopWindowName, Targets: m.Targets, Reason: m.Reason, From: m.From, Until: m.Until}
}

// MaintenanceWindows returns the maintenance windows of the file: the
// maintenance block itself when it is enabled (named TopWindowName), then
// each of maintenance.windows, named by its name or else by its place
// ("maintenance.windows[1]").
func (c *Config) MaintenanceWindows() []Window {
	m := &c.Maintenance
	out := make([]Window, 0, len(m.Windows)+1)
	if m.Enabled {
		out = append(out, m.window())
	}
	for i, w := range m.Windows {
		if w.Name == "" {
			w.Name = windowPath(i)
		}
		out = append(out, w)
	}
	return out
}

func windowPath(i int) string {
	return "maintenance.windows[" + strconv.Itoa(i) + "]"
}

// placedWindow is a window with where the file writes it.
type placedWindow struct {
	w    *Window
	path string     // "maintenance" or "maintenance.windows[i]"
	at   *yaml.Node // the window's node
	m    *Maintenance
	i    int // index in maintenance.windows; -1 for the block itself
}

// field returns the value node of the window's key, or the window's node.
func (p *parseRun) windowField(pw placedWindow, key string) *yaml.Node {
	var n *yaml.Node
	if pw.i < 0 {
		n, _ = p.field(pw.m, key)
	} else {
		n, _ = p.field(&pw.m.Windows[pw.i], key)
	}
	return n
}

// checkWindows checks what spans the maintenance windows: a window's
// targets must designate routes, names must be unique, and no two windows
// may overlap in time, so that the one in force is never in doubt. It
// warns of a window that is over at p.now (it will never act again) and
// of a block that schedules itself but is not enabled.
func (p *parseRun) checkWindows(cfg *Config) {
	m := &cfg.Maintenance
	if !m.Enabled && m.From != nil && !p.suppressed("maintenance.from") {
		n, _ := p.field(m, "from")
		p.warn(n, "maintenance.from", "maintenance is not enabled: this window is off (set enabled: true to schedule it)")
	}
	var ws []placedWindow
	if m.Enabled {
		ws = append(ws, placedWindow{w: &Window{From: m.From, Until: m.Until}, path: TopWindowName, at: p.at(m), m: m, i: -1})
	}
	names := map[string]int{}
	for i := range m.Windows {
		w := &m.Windows[i]
		pw := placedWindow{w: w, path: windowPath(i), at: p.at(w), m: m, i: i}
		ws = append(ws, pw)
		p.checkWindowTargets(cfg, pw)
		if w.Name == "" || p.suppressed(pw.path+".name") {
			continue
		}
		if j, ok := names[w.Name]; ok {
			p.add(p.windowField(pw, "name"), pw.path+".name", ErrDuplicate, "window name %s is already used by %s (line %d)",
				quote(w.Name), windowPath(j), p.at(&m.Windows[j]).Line)
			continue
		}
		names[w.Name] = i
	}
	for _, pw := range ws {
		if pw.w.Ended(p.now) && !p.suppressed(pw.path+".until") {
			p.warn(p.windowField(pw, "until"), pw.path+".until", "this window ended at %s: it is in the past and does nothing",
				pw.w.Until.Format(time.RFC3339))
		}
	}
	p.checkOverlaps(ws)
}

// checkWindowTargets requires each target of a listed window to designate
// a route: a listed window is on in its time.
func (p *parseRun) checkWindowTargets(cfg *Config, pw placedWindow) {
	for k, t := range pw.w.Targets {
		path := pw.path + ".targets[" + strconv.Itoa(k) + "]"
		if t == "" || p.suppressed(path) || len(cfg.RoutesMatching(t)) > 0 {
			continue
		}
		p.add(p.elem(pw.w, "targets", k), path, ErrInvalid, "%s matches no route name, path or domain", quote(t))
	}
}

// checkOverlaps reports each window that starts before an earlier-starting
// one has ended, on its from (or on the window when it has none). A window
// without from starts at the dawn of time, one without until never ends;
// a window may start at the very moment another ends.
func (p *parseRun) checkOverlaps(ws []placedWindow) {
	var valid []placedWindow
	for _, pw := range ws {
		if p.suppressed(pw.path) || p.suppressed(pw.path+".from") || p.suppressed(pw.path+".until") {
			continue
		}
		if pw.w.From != nil && pw.w.Until != nil && !pw.w.From.Before(*pw.w.Until) {
			continue // already reported: until must be after from
		}
		valid = append(valid, pw)
	}
	start := func(pw placedWindow) time.Time {
		if pw.w.From == nil {
			return time.Time{}
		}
		return *pw.w.From
	}
	slices.SortStableFunc(valid, func(a, b placedWindow) int { return start(a).Compare(start(b)) })
	var last *placedWindow // the window seen so far that ends last
	for i := range valid {
		pw := valid[i]
		if last != nil && (last.w.Until == nil || start(pw).Before(*last.w.Until)) {
			n := pw.at
			if pw.w.From != nil {
				n = p.windowField(pw, "from")
			}
			p.add(n, pw.path, ErrInvalid, "overlaps %s (line %d, %s): windows must not overlap, at most one is in force at a time",
				last.path, last.at.Line, spanText(*last.w))
		}
		if last == nil || last.w.Until != nil && (pw.w.Until == nil || pw.w.Until.After(*last.w.Until)) {
			last = &valid[i]
		}
	}
}

// spanText writes a window's time span for a message.
func spanText(w Window) string {
	from, until := "always", "with no end"
	if w.From != nil {
		from = "from " + w.From.Format(time.RFC3339)
	}
	if w.Until != nil {
		until = "until " + w.Until.Format(time.RFC3339)
	}
	return from + " " + until
}

// warn records a warning at node n: the file stays valid.
func (p *parseRun) warn(n *yaml.Node, path string, format string, args ...any) {
	p.warnings = append(p.warnings, &Error{File: p.file, Line: n.Line, Col: n.Column, Path: path,
		Msg: fmt.Sprintf(format, args...), Cause: ErrIneffective, Warning: true})
}

// sortByPosition orders problems as the file does.
func sortByPosition(es Errors) {
	slices.SortStableFunc(es, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
}
