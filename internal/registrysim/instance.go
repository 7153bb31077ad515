package registrysim

import (
	"context"
	"fmt"
	"net"
	"sync"
)

// instance is one lifetime of the simulated server process: everything in it
// is lost on Stop/Restart (§8). Its fields are guarded by Server.mu, except
// ctx, cancel and wg.
type instance struct {
	ctx    context.Context // cancelled when the process "exits"
	cancel context.CancelFunc
	wg     sync.WaitGroup // every goroutine of this instance: accept, conns, grace timers, checks

	ln       net.Listener
	conns    map[*conn]struct{}
	stopping bool

	sessions map[string]*session // by session id, connected or in grace
	current  map[string]*session // by service+"\x00"+instance: the latest session

	proxy   []*ProxyRoute          // the proxy's list, sorted by path length after every add (§4)
	exact   map[string]*ProxyRoute // the proxy's exact-match map keyed domain+path (§4)
	routeID int                    // global route-id counter, shared by all sessions
}

func newInstance(ln net.Listener) *instance {
	ctx, cancel := context.WithCancel(context.Background())
	return &instance{
		ctx:      ctx,
		cancel:   cancel,
		ln:       ln,
		conns:    make(map[*conn]struct{}),
		sessions: make(map[string]*session),
		current:  make(map[string]*session),
		exact:    make(map[string]*ProxyRoute),
	}
}

func (in *instance) connList() []*conn {
	out := make([]*conn, 0, len(in.conns))
	for c := range in.conns {
		out = append(out, c)
	}
	return out
}

// nextRouteID hands out r1, r2, ... across every session of the process.
func (in *instance) nextRouteID() string {
	in.routeID++
	return fmt.Sprintf("r%d", in.routeID)
}
