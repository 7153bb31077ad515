package reconcile

import (
	"context"

	"regagent/internal/client"
)

// Conn is what the reconciler needs of the protocol client; *client.Client
// satisfies it.
type Conn interface {
	// Send writes a batch in one write and returns one result per command.
	Send(ctx context.Context, b *client.Batch) ([]client.Result, error)
	// ListRoutes is ROUTE_LIST: the session's routes as the server sees them.
	ListRoutes(ctx context.Context) ([]client.RouteInfo, error)
	MaintenanceEnter(ctx context.Context, target, pageURL string) error
	MaintenanceExit(ctx context.Context, target string) error
	MaintenanceState() []client.MaintState
	// MaintenanceStatus is MAINT_STATUS: what the session has entered in
	// maintenance, as the server sees it (§5).
	MaintenanceStatus(ctx context.Context) ([]string, error)
	// Generation changes with every REGISTER: a new, empty session (§2).
	Generation() uint64
	SessionID() string
	// ProbedRouteID is the route id a route staged and rolled back after
	// REGISTER got, "" if unknown: it tells whether the proxy restarted.
	ProbedRouteID() string
	WaitConnected(ctx context.Context) error
}

var _ Conn = (*client.Client)(nil)

func listed(infos []client.RouteInfo) []Listed {
	out := make([]Listed, len(infos))
	for i, r := range infos {
		out[i] = Listed{ID: r.ID, Domains: r.Domains, Path: r.Path, Backend: r.Backend, Priority: r.Priority, Status: r.Status}
	}
	return out
}
