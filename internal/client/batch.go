package client

import (
	"encoding/json"
	"fmt"
	"time"
)

// Command is one protocol command. Args are the fields after the session id:
// the client inserts the session id itself as field 1 for every command but
// REGISTER.
type Command struct {
	Name string
	Args []string
}

// Reply is one reply line: Kind "ROUTE_OK", Payload "r13" for "ROUTE_OK|r13".
// Payload is everything after the first '|' (whole, so JSON survives); Fields
// is Payload split on '|', nil when Payload is over LineBudget (only JSON
// replies are that long).
type Reply struct {
	Kind    string
	Payload string
	Fields  []string
}

// Result is the outcome of one command of a batch. Err is a *ServerError for
// an ERROR reply, or wraps ErrDisconnected when the connection failed before
// the reply arrived.
type Result struct {
	Command Command
	Reply   Reply
	Err     error
}

// Batch builds a list of commands that Send writes in one write. The zero
// value is ready to use. A builder method given an unsafe value records the
// error; Send then returns it and writes nothing.
type Batch struct {
	cmds    []Command
	err     error
	session uint64 // 0: any session
}

// ForSession binds the batch to session generation gen: Send writes nothing
// and returns ErrSessionChanged unless the client's session is still that
// one. Route ids belong to a session (§2): a plan made for one must not
// reach the next.
func (b *Batch) ForSession(gen uint64) { b.session = gen }

// Len is the number of wire commands, hence of Results Send will return.
func (b *Batch) Len() int { return len(b.cmds) }

// add appends a command and returns the index of its Result.
func (b *Batch) add(cmd Command) int {
	b.cmds = append(b.cmds, cmd)
	return len(b.cmds) - 1
}

func (b *Batch) fail(err error) {
	if b.err == nil {
		b.err = err
	}
}

// RouteAdd stages one route (ROUTE_ADD) and returns the index of its Result;
// the route id is the Result's Reply.Payload.
func (b *Batch) RouteAdd(r Route) int {
	cmd, err := routeAddCommand(r)
	if err != nil {
		b.fail(err)
		return -1
	}
	return b.add(cmd)
}

// BulkRef locates the ROUTE_ADD_BULK commands one RouteAddBulk call became.
type BulkRef struct {
	first  int   // index of the first command
	counts []int // routes carried by each command, in order
}

// IDs maps the results of Send back to route ids: ids[i] is the id of the
// i-th route given to RouteAddBulk. A command that failed leaves its routes'
// ids empty and its error is returned (the first one); note that on an
// invalid entry the server keeps the entries before it staged (§3).
func (r BulkRef) IDs(results []Result) ([]string, error) {
	var (
		ids      []string
		firstErr error
	)
	for i, n := range r.counts {
		j := r.first + i
		var got []string
		err := fmt.Errorf("%w: no result for bulk command %d", ErrProtocol, j)
		if j < len(results) {
			if err = results[j].Err; err == nil {
				got, err = parseBulkIDs(results[j].Reply)
			}
		}
		if err == nil && len(got) != n {
			err = fmt.Errorf("%w: bulk reply has %d ids for %d routes", ErrProtocol, len(got), n)
		}
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			got = make([]string, n)
		}
		ids = append(ids, got...)
	}
	return ids, firstErr
}

// RouteAddBulk stages routes with ROUTE_ADD_BULK, split into as many commands
// as the line budget needs (§1). Use the returned BulkRef to map the Results
// back to route ids. No routes, no command.
func (b *Batch) RouteAddBulk(rs []Route) BulkRef {
	cmds, counts, err := packBulk(rs, bulkPayloadBudget)
	if err != nil {
		b.fail(err)
		return BulkRef{first: -1}
	}
	ref := BulkRef{first: len(b.cmds), counts: counts}
	b.cmds = append(b.cmds, cmds...)
	return ref
}

// RouteUpdate changes one field (backend_url, priority, domains, path) of a
// staged or active route. Beware §4: an applied update leaves the old entry
// routed; replace routes with remove+apply, add+apply instead.
func (b *Batch) RouteUpdate(id, field, value string) int {
	return b.add(Command{Name: "ROUTE_UPDATE", Args: []string{id, field, value}})
}

// RouteRemove stages the removal of a route.
func (b *Batch) RouteRemove(id string) int {
	return b.add(Command{Name: "ROUTE_REMOVE", Args: []string{id}})
}

// HealthSet stages a health check. It only takes effect for a route staged in
// the same apply, and the server joins backend and path without a slash
// (§4): pass the path without its leading '/'.
func (b *Batch) HealthSet(id, path string, interval, timeout time.Duration) int {
	return b.add(Command{Name: "HEALTH_SET", Args: []string{id, path, duration(interval), duration(timeout)}})
}

// OptionSet stages a service-wide option (target ALL, §3).
func (b *Batch) OptionSet(key, value string) int {
	return b.add(Command{Name: "OPTIONS_SET", Args: []string{"ALL", key, value}})
}

// HeaderSet stages a service-wide header (target ALL; lower-case "all" is
// refused, §3).
func (b *Batch) HeaderSet(name, value string) int {
	return b.add(Command{Name: "HEADERS_SET", Args: []string{"ALL", name, value}})
}

// Apply appends CONFIG_APPLY.
func (b *Batch) Apply() int { return b.add(Command{Name: "CONFIG_APPLY"}) }

// Rollback appends CONFIG_ROLLBACK.
func (b *Batch) Rollback() int { return b.add(Command{Name: "CONFIG_ROLLBACK"}) }

// parseBulkIDs returns the route ids of a ROUTE_BULK_OK reply, in the order of
// the routes of that command.
func parseBulkIDs(r Reply) ([]string, error) {
	if r.Kind != "ROUTE_BULK_OK" {
		return nil, fmt.Errorf("%w: want ROUTE_BULK_OK, got %s", ErrProtocol, r.Kind)
	}
	var entries []struct {
		RouteID string `json:"route_id"`
		Status  string `json:"status"`
		Error   string `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.Payload), &entries); err != nil {
		return nil, fmt.Errorf("%w: bulk reply: %v", ErrProtocol, err)
	}
	ids := make([]string, len(entries))
	for i, e := range entries {
		if e.Status != "ok" {
			return nil, &ServerError{Command: "ROUTE_ADD_BULK", Message: fmt.Sprintf("entry %d: %s %s", i, e.Status, e.Error)}
		}
		ids[i] = e.RouteID
	}
	return ids, nil
}
