package client

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// LineBudget is the longest command line the client writes, newline
// excluded. The server's scanner fails at 65,536 bytes and drops the
// connection without an answer (§1); the budget leaves 5 KiB of margin.
const LineBudget = 60 * 1024

// sidReserve is the room kept for the session id when a bulk payload is split
// at batch-building time, before the session id is known. Session ids are the
// instance name plus ~20 characters (§2); the whole line is checked again
// against LineBudget when it is encoded.
const sidReserve = 512

// bulkPayloadBudget is the largest ROUTE_ADD_BULK JSON payload a Batch packs.
const bulkPayloadBudget = LineBudget - len("ROUTE_ADD_BULK||") - sidReserve

// checkField refuses a value the framing cannot carry: '|' splits fields and
// CR or LF end the line, and neither can be escaped (§1).
func checkField(cmd string, i int, v string) error {
	if j := strings.IndexAny(v, "|\r\n"); j >= 0 {
		return fmt.Errorf("%w: %s field %d contains %q", ErrUnsafeField, cmd, i, v[j])
	}
	return nil
}

// appendLine appends one encoded command line, newline included, to dst. The
// session id goes in as field 1 for every command but REGISTER (§2). Every
// field and the total length are checked first; on error dst is returned
// unchanged.
func appendLine(dst []byte, sid string, cmd Command) ([]byte, error) {
	if cmd.Name == "" {
		return dst, fmt.Errorf("%w: empty command name", ErrUnsafeField)
	}
	if err := checkField(cmd.Name, 0, cmd.Name); err != nil {
		return dst, err
	}
	n := len(cmd.Name)
	withSID := cmd.Name != "REGISTER"
	if withSID {
		if err := checkField(cmd.Name, 1, sid); err != nil {
			return dst, err
		}
		n += 1 + len(sid)
	}
	first := 1
	if withSID {
		first = 2
	}
	for i, a := range cmd.Args {
		if err := checkField(cmd.Name, first+i, a); err != nil {
			return dst, err
		}
		n += 1 + len(a)
	}
	if n > LineBudget {
		return dst, fmt.Errorf("%w: %s is %d bytes, budget %d", ErrLineTooLong, cmd.Name, n, LineBudget)
	}
	dst = append(dst, cmd.Name...)
	if withSID {
		dst = append(dst, '|')
		dst = append(dst, sid...)
	}
	for _, a := range cmd.Args {
		dst = append(dst, '|')
		dst = append(dst, a...)
	}
	return append(dst, '\n'), nil
}

// checkDomains refuses domains the comma-joined domain field would split.
func checkDomains(cmd string, domains []string) error {
	for _, d := range domains {
		if strings.ContainsAny(d, ",|\r\n") {
			return fmt.Errorf("%w: %s domain %q", ErrUnsafeField, cmd, d)
		}
	}
	return nil
}

// checkRoute checks every field of r, including those that travel inside JSON:
// the server splits the line before it decodes the JSON (§1).
func checkRoute(cmd string, r Route) error {
	if err := checkDomains(cmd, r.Domains); err != nil {
		return err
	}
	if err := checkField(cmd, 0, r.Path); err != nil {
		return fmt.Errorf("%w (path)", err)
	}
	if err := checkField(cmd, 0, r.Backend); err != nil {
		return fmt.Errorf("%w (backend)", err)
	}
	return nil
}

func routeAddCommand(r Route) (Command, error) {
	if err := checkRoute("ROUTE_ADD", r); err != nil {
		return Command{}, err
	}
	return Command{Name: "ROUTE_ADD", Args: []string{
		strings.Join(r.Domains, ","), r.Path, r.Backend, strconv.Itoa(r.Priority),
	}}, nil
}

type bulkEntry struct {
	Domains    []string `json:"domains"`
	Path       string   `json:"path"`
	BackendURL string   `json:"backend_url"`
	Priority   int      `json:"priority"`
}

// packBulk encodes routes as ROUTE_ADD_BULK commands, each payload within
// budget, keeping the routes' order. counts[i] is how many routes command i
// carries.
func packBulk(rs []Route, budget int) (cmds []Command, counts []int, err error) {
	var (
		payload []byte
		n       int
	)
	flush := func() {
		if n == 0 {
			return
		}
		payload = append(payload, ']')
		cmds = append(cmds, Command{Name: "ROUTE_ADD_BULK", Args: []string{string(payload)}})
		counts = append(counts, n)
		payload, n = payload[:0], 0
	}
	for i, r := range rs {
		if err := checkRoute("ROUTE_ADD_BULK", r); err != nil {
			return nil, nil, fmt.Errorf("route %d: %w", i, err)
		}
		e := bulkEntry{Domains: r.Domains, Path: r.Path, BackendURL: r.Backend, Priority: r.Priority}
		if e.Domains == nil {
			e.Domains = []string{}
		}
		b, err := json.Marshal(e)
		if err != nil {
			return nil, nil, fmt.Errorf("route %d: %w", i, err)
		}
		if len(b)+2 > budget {
			return nil, nil, fmt.Errorf("%w: route %d alone is %d bytes of JSON", ErrLineTooLong, i, len(b))
		}
		if n > 0 && len(payload)+1+len(b)+1 > budget {
			flush()
		}
		if n == 0 {
			payload = append(payload, '[')
		} else {
			payload = append(payload, ',')
		}
		payload = append(payload, b...)
		n++
	}
	flush()
	return cmds, counts, nil
}

// duration renders d the way the server parses durations (Go syntax).
func duration(d time.Duration) string { return d.String() }
