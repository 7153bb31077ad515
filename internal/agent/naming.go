package agent

import (
	"log/slog"
	"slices"
	"strings"
	"time"

	"regagent/internal/client"
	"regagent/internal/reconcile"
)

// naming lets an event speak of routes as the file does. Maintenance
// commands carry route ids (PROTOCOL.md §5), which change every time a
// route is added again: people know their routes by name.
type naming struct {
	// route names a route id; ok is false for an id of none of the file's
	// routes. nil: ids are shown as they are.
	route func(id string) (name string, ok bool)
	// exitReason says why maintenance is being left, when the file says
	// it; nil or "": no reason given.
	exitReason func() string
}

// maint is the message ("MAINT_ENTER web,api") and the fields of a
// maintenance event: target keeps the ids sent, routes names them. An id
// of no route of the file is one of regagent's temporary routes (a
// keeper, or the copy that releases a backend's maintenance, §5); a
// release names its one id twice on the wire, shown once here.
func (n naming) maint(m client.MaintRequest) (string, []slog.Attr) {
	attrs := []slog.Attr{text("target", m.Target)}
	if m.Enter {
		attrs = append(attrs, text("page_url", m.PageURL))
	}
	if m.Target == "ALL" || m.Target == "" || n.route == nil {
		return m.Command() + " " + m.Target, attrs
	}
	var names []string
	for id := range strings.SplitSeq(m.Target, ",") {
		name, ok := n.route(id)
		if !ok {
			name = "temporary route " + id
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	attrs = append(attrs, list("routes", names))
	return m.Command() + " " + strings.Join(names, ","), attrs
}

// maxGoneNames bounds the names of removed routes the agent remembers:
// an outcome may arrive after its route was removed, but a long session
// re-adds routes without end.
const maxGoneNames = 256

// routeNames maps this session's route ids to the file's route names, as
// the reconciler reports its routes added and removed.
type routeNames struct {
	ids  map[string]string
	gone []string // removed ids, oldest first, kept for late outcomes
}

// note learns from a reconciler report; a new session (reset) starts
// afresh, since route ids restart with a restarted proxy (§8).
func (r *routeNames) note(detail any) {
	switch d := detail.(type) {
	case reconcile.RouteAdded:
		if r.ids == nil {
			r.ids = map[string]string{}
		}
		r.ids[d.ID] = d.Name
	case reconcile.RouteRemoved:
		if _, ok := r.ids[d.ID]; !ok {
			return
		}
		r.gone = append(r.gone, d.ID)
		if len(r.gone) > maxGoneNames {
			delete(r.ids, r.gone[0])
			r.gone = slices.Delete(r.gone, 0, 1)
		}
	}
}

func (r *routeNames) reset() {
	clear(r.ids)
	r.gone = r.gone[:0]
}

func (r *routeNames) name(id string) (string, bool) {
	name, ok := r.ids[id]
	return name, ok
}

// naming is the agent's: names as the reconciler reported them, and the
// end of maintenance by maintenance.until.
func (a *Agent) naming() naming {
	return naming{
		route: func(id string) (string, bool) {
			a.mu.Lock()
			defer a.mu.Unlock()
			return a.names.name(id)
		},
		exitReason: func() string {
			a.mu.Lock()
			cfg := a.cfg
			a.mu.Unlock()
			if cfg == nil || !cfg.Maintenance.Enabled || cfg.Maintenance.Until == nil {
				return ""
			}
			if until := *cfg.Maintenance.Until; !time.Now().Before(until) {
				return "maintenance.until " + until.Format(time.RFC3339) + " has passed"
			}
			return ""
		},
	}
}
