package maintpage

import (
	"time"

	"regagent/internal/httplimit"
)

// Limits bound what clients of the page server can hold. The page is open
// to anyone who reaches the port: without them, idle keep-alive connections
// and requests never finished would be held forever and exhaust the
// process's descriptors, which the registry connection needs too. At the
// connection cap a new connection replaces an idle keep-alive one: the
// proxy keeps a pool of them, and its check must not be locked out by it.
// A connection refused is answered 503, which the check reads as "not yet"
// and retries (PROTOCOL.md §5).
type Limits = httplimit.Limits

// DefaultLimits suit a proxy forwarding visitors over a pool of
// connections, and its checks.
func DefaultLimits() Limits {
	return Limits{
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxConns:          256,
	}
}
