package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"regagent/internal/registrysim"
)

// TestPipelineWithInjectedAsyncLines sends random pipelined batches while
// async lines (stray MAINT_OK, target-less timeout ERROR, EVENT) are injected
// on the same connection between the replies. Every command must get the
// reply meant for it, and every async line must come out as an event.
func TestPipelineWithInjectedAsyncLines(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	h := connected(t, sim.Addr(), nil)
	c, ctx := h.c, ctxT(t)
	rnd := rand.New(rand.NewPCG(1, 2))

	type step struct {
		cmd  Command
		kind string // expected reply kind
		msg  string // expected ERROR message
	}
	menu := []func(i int) step{
		func(i int) step {
			return step{Command{Name: "ROUTE_ADD", Args: []string{"a.com", fmt.Sprintf("/p%d", i), "http://x:1", "1"}}, "ROUTE_OK", ""}
		},
		func(int) step {
			return step{Command{Name: "ROUTE_ADD", Args: []string{"a.com", "", "http://x:1", "1"}}, "ERROR", "path cannot be empty"}
		},
		func(int) step { return step{Command{Name: "PING"}, "PONG", ""} },
		func(int) step { return step{Command{Name: "CONFIG_DIFF"}, "DIFF_OK", ""} },
		func(int) step {
			return step{Command{Name: "ROUTE_REMOVE", Args: []string{"r999999"}}, "ERROR", "route not found"}
		},
		func(int) step { return step{Command{Name: "MAINT_STATUS"}, "MAINT_STATUS_OK", ""} },
		func(int) step { return step{Command{Name: "CONFIG_ROLLBACK"}, "OK", ""} },
	}
	asyncLines := []string{
		"MAINT_OK|r7",
		"MAINT_OK|ALL",
		"ERROR|timeout waiting for backend to become reachable",
		"ERROR|timeout waiting for maintenance page to become reachable",
		"EVENT|route_added|{\"route_id\":\"r1\"}",
		"SHUTDOWN",
	}
	var okLines, errLines, shutdowns, serverEvents int // injected
	for round := range 40 {
		var b Batch
		var steps []step
		for i := range 1 + rnd.IntN(120) {
			s := menu[rnd.IntN(len(menu))](round*1000 + i)
			steps = append(steps, s)
			b.add(s.cmd)
		}
		var lines []string
		for range rnd.IntN(8) {
			l := asyncLines[rnd.IntN(len(asyncLines))]
			lines = append(lines, l)
			switch {
			case strings.HasPrefix(l, "MAINT_OK"):
				okLines++ // no maintenance op pending: reported as unexpected
			case strings.HasPrefix(l, "ERROR"):
				errLines++
			case l == "SHUTDOWN":
				shutdowns++
			default:
				serverEvents++
			}
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, l := range lines {
				if err := sim.SendRaw(c.SessionID(), l); err != nil {
					t.Errorf("SendRaw: %v", err)
				}
			}
		}()
		res, err := c.Send(ctx, &b)
		wg.Wait()
		if err != nil {
			t.Fatalf("round %d: Send: %v", round, err)
		}
		for i, s := range steps {
			r := res[i]
			if r.Reply.Kind != s.kind || r.Command.Name != s.cmd.Name {
				t.Fatalf("round %d cmd %d %s: got %s|%s, want %s", round, i, s.cmd.Name, r.Reply.Kind, r.Reply.Payload, s.kind)
			}
			var se *ServerError
			if s.kind == "ERROR" && (!errors.As(r.Err, &se) || se.Message != s.msg) {
				t.Fatalf("round %d cmd %d: err %v, want %q", round, i, r.Err, s.msg)
			}
		}
	}
	// Everything injected was written before this PING's reply.
	if err := ping(ctx, c); err != nil {
		t.Fatal(err)
	}
	eventually(t, "every async line reported", func() bool {
		return count[ServerEvent](h.rec, nil) == serverEvents &&
			count[UnexpectedAsyncError](h.rec, nil) == errLines &&
			count[UnexpectedMaintOK](h.rec, nil) == okLines &&
			count[ServerShutdown](h.rec, nil) == shutdowns
	})
}

// TestUnsafeInputNeverReachesServer checks that refused input writes nothing
// at all, for single commands and whole batches alike.
func TestUnsafeInputNeverReachesServer(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	h := connected(t, sim.Addr(), nil)
	c, ctx := h.c, ctxT(t)
	before := sim.CommandCount()

	if _, err := addRoute(ctx, c, Route{Domains: []string{"a.com"}, Path: "/a|b", Backend: "http://x"}); !errors.Is(err, ErrUnsafeField) {
		t.Errorf("pipe in path: %v", err)
	}
	if err := setHeader(ctx, c, "X-A", "v\r\nCONFIG_APPLY|s"); !errors.Is(err, ErrUnsafeField) {
		t.Errorf("CRLF in header: %v", err)
	}
	if _, err := addRoute(ctx, c, Route{Domains: []string{"a.com,evil.com"}, Path: "/", Backend: "http://x"}); !errors.Is(err, ErrUnsafeField) {
		t.Errorf("comma in domain: %v", err)
	}
	if err := c.MaintenanceEnter(ctx, "ALL|r1", ""); !errors.Is(err, ErrUnsafeField) {
		t.Errorf("pipe in target: %v", err)
	}
	var b Batch
	b.RouteAdd(Route{Domains: []string{"a.com"}, Path: "/ok", Backend: "http://x"})
	b.OptionSet("timeout", "30s")
	b.HeaderSet("X-Bad", "line\nbreak")
	b.Apply()
	if res, err := c.Send(ctx, &b); !errors.Is(err, ErrUnsafeField) || res != nil {
		t.Errorf("batch with one bad field: %v, %v", res, err)
	}
	long := strings.Repeat("v", LineBudget)
	if _, err := c.Do(ctx, Command{Name: "HEADERS_SET", Args: []string{"ALL", "X", long}}); !errors.Is(err, ErrLineTooLong) {
		t.Errorf("long line: %v", err)
	}
	if _, err := addRoutes(ctx, c, []Route{{Path: "/ok", Backend: "http://x"}, {Path: "/" + long, Backend: "http://x"}}); !errors.Is(err, ErrLineTooLong) {
		t.Errorf("one huge bulk route: %v", err)
	}
	if n := sim.CommandCount(); n != before {
		t.Fatalf("%d commands reached the server: %q", n-before, sim.Commands()[before:])
	}
	if n := count(h.rec, func(e MaintRequested) bool { return e.Enter }); n != 0 {
		t.Fatalf("MAINT_REQUESTED for a refused target")
	}

	// A bulk add far over one line is split, and every line is accepted
	// (the server would drop the connection on a line of 64 KiB or more).
	var rs []Route
	for i := range 2000 {
		rs = append(rs, Route{Domains: []string{fmt.Sprintf("host%d.example.com", i)}, Path: "/" + strings.Repeat("p", 40), Backend: "http://10.0.0.1:8080"})
	}
	sim.ResetCommands()
	ids, err := addRoutes(ctx, c, rs)
	if err != nil || len(ids) != len(rs) {
		t.Fatalf("AddRoutes: %d ids, %v", len(ids), err)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || seen[id] {
			t.Fatalf("bad or duplicate id %q", id)
		}
		seen[id] = true
	}
	cmds := sim.Commands()
	if len(cmds) < 2 {
		t.Fatalf("%d bulk commands, want a split", len(cmds))
	}
	for _, l := range cmds {
		if len(l) > LineBudget {
			t.Fatalf("line of %d bytes", len(l))
		}
	}
	if err := ping(ctx, c); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// TestAbandonedWaitKeepsOrder: a caller that stops waiting does not shift
// the replies of later commands.
func TestAbandonedWaitKeepsOrder(t *testing.T) {
	t.Parallel()
	sim := startSim(t, registrysim.Options{})
	h := connected(t, sim.Addr(), nil)
	c := h.c
	sim.SetResponseDelay(100 * time.Millisecond) // the reply cannot beat the deadline below
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	if _, err := c.Do(ctx, Command{Name: "CONFIG_DIFF"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Do: %v, want DeadlineExceeded", err)
	}
	sim.SetResponseDelay(0)
	if err := ping(ctxT(t), c); err != nil {
		t.Fatalf("Ping after abandoned wait: %v", err)
	}
}
