package registrysim

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestReplyQuirks replays the reply-only facts of §9, one connection per case.
func TestReplyQuirks(t *testing.T) {
	const sidRe = `inst1-\d+-\d+`
	tests := []struct {
		name     string
		register bool
		steps    []step
	}{
		{"REGISTER metadata may be empty or null", false, []step{
			s("REGISTER|svc|inst1|3001|", "~ACK\\|"+sidRe),
			s("REGISTER|svc|inst1|3001|null", "~ACK\\|"+sidRe),
			s("SESSION_INFO", `~SESSION_OK\|\{.*"metadata":null,.*\}`),
		}},
		{"domain lists keep empty items", true, []step{
			s("ROUTE_ADD|{sid}|a.com,, b.com |/x|http://b:1|0", "ROUTE_OK|r1"),
			s("ROUTE_UPDATE|{sid}|r1|domains|c.com,", "ROUTE_OK"),
			s("ROUTE_LIST|{sid}", `ROUTE_LIST_OK|[{"backend":"http://b:1","domains":["c.com",""],"path":"/x","priority":0,"route_id":"r1","status":"staged"}]`),
			s("ROUTE_ADD|{sid}| |/y|http://b:1|0", "ROUTE_OK|r2"),
			s("CONFIG_APPLY|{sid}", "OK"),
			s("ROUTE_LIST|{sid}", `ROUTE_LIST_OK|[`+
				`{"backend":"http://b:1","domains":["c.com",""],"path":"/x","priority":0,"route_id":"r1","status":"active"},`+
				`{"backend":"http://b:1","domains":[""],"path":"/y","priority":0,"route_id":"r2","status":"active"}]`),
		}},
		{"ROUTE_ADD_BULK decodes like the server", true, []step{
			s(`ROUTE_ADD_BULK|{sid}|[{"domains":[" a.com",7],"path":"/a","backend_url":"http://b:1","priority":2.9},`+
				`{"domains":["a.com"],"path":"/b","backend_url":"http://b:1","priority":"5"},`+
				`{"domains":["a.com"],"path":"/c","backend_url":"http://b:1","PRIORITY":5}]`,
				`ROUTE_BULK_OK|[{"route_id":"r1","status":"ok"},{"route_id":"r2","status":"ok"},{"route_id":"r3","status":"ok"}]`),
			s("ROUTE_LIST|{sid}", `ROUTE_LIST_OK|[`+
				`{"backend":"http://b:1","domains":[" a.com","7"],"path":"/a","priority":2,"route_id":"r1","status":"staged"},`+
				`{"backend":"http://b:1","domains":["a.com"],"path":"/b","priority":0,"route_id":"r2","status":"staged"},`+
				`{"backend":"http://b:1","domains":["a.com"],"path":"/c","priority":0,"route_id":"r3","status":"staged"}]`),
			s(`ROUTE_ADD_BULK|{sid}|[{"path":"/d","backend_url":"http://b:1"}]`, "ERROR|no domains specified"),
			s(`ROUTE_ADD_BULK|{sid}|[{"domains":["a.com"],"path":"/d","Backend_URL":"http://b:1"}]`, "ERROR|invalid backend url format"),
		}},
		{"priority parses like fmt.Sscanf", true, []step{
			s("ROUTE_ADD|{sid}|a.com|/a|http://b:1|10abc", "ROUTE_OK|r1"),
			s("ROUTE_ADD|{sid}|a.com|/b|http://b:1|99999999999999999999", "ROUTE_OK|r2"),
			s("ROUTE_ADD|{sid}|a.com|/c|http://b:1| 7", "ROUTE_OK|r3"),
			s("ROUTE_UPDATE|{sid}|r1|priority|abc", "ROUTE_OK"),
			s("ROUTE_UPDATE|{sid}|r3|priority|8x", "ROUTE_OK"),
			s("ROUTE_LIST|{sid}", `ROUTE_LIST_OK|[`+
				`{"backend":"http://b:1","domains":["a.com"],"path":"/a","priority":10,"route_id":"r1","status":"staged"},`+
				`{"backend":"http://b:1","domains":["a.com"],"path":"/b","priority":0,"route_id":"r2","status":"staged"},`+
				`{"backend":"http://b:1","domains":["a.com"],"path":"/c","priority":8,"route_id":"r3","status":"staged"}]`),
		}},
		{"CONFIG_APPLY_PARTIAL applies staged routes", true, []step{
			s("CONFIG_APPLY_PARTIAL|{sid}", "ERROR|invalid format"),
			s("ROUTE_ADD|{sid}|a.com|/a|http://b:1|0\nROUTE_UPDATE|{sid}|r1|path|", "ROUTE_OK|r1", "ROUTE_OK"),
			s("CONFIG_APPLY_PARTIAL|{sid}|headers, routes", "OK"), // no validation
			s("ROUTE_LIST|{sid}", `ROUTE_LIST_OK|[{"backend":"http://b:1","domains":["a.com"],"path":"","priority":0,"route_id":"r1","status":"active"}]`),
			s("CONFIG_APPLY_PARTIAL|{sid}|nothing", "OK"),
		}},
		{"a CR inside a line is data", true, []step{
			s("PING\rPING|{sid}", "ERROR|unknown command: PING\rPING"),
			s("PING|{sid}\r", "PONG"),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, Options{})
			c := dial(t, srv)
			if tt.register {
				c.register("svc", "inst1")
			}
			for _, st := range tt.steps {
				c.expect(st.send, st.want...)
			}
		})
	}
}

// TestApplyPartialRoutesAreLive: CONFIG_APPLY_PARTIAL with the scope "routes"
// puts the staged routes in the proxy, without the staged headers (§9).
func TestApplyPartialRoutesAreLive(t *testing.T) {
	srv := newServer(t, Options{})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.expect("HEADERS_SET|{sid}|ALL|X-A|1\nROUTE_ADD|{sid}|a.com|/a|http://b:1|0\nCONFIG_APPLY_PARTIAL|{sid}|routes",
		"HEADERS_OK", "ROUTE_OK|r1", "OK")
	got := srv.Resolve("a.com", "/a")
	if got.Kind != TargetBackend || got.Backend != "http://b:1" || len(got.Headers) != 0 {
		t.Fatalf("Resolve = %+v, want backend b:1 without headers", got)
	}
	c.expect("CONFIG_DIFF|{sid}", `DIFF_OK|{"headers":1,"options":0,"routes":{"added":0,"removed":0}}`)
}

// TestHeaderValueKeepsCR: only LF ends a line, so a CR reaches the value (§9).
func TestHeaderValueKeepsCR(t *testing.T) {
	srv := newServer(t, Options{})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.expect("HEADERS_SET|{sid}|ALL|X-A|a\rb", "HEADERS_OK")
	c.addApply("a.com|/a|http://b:1|0")
	if got := srv.Resolve("a.com", "/a").Headers["X-A"]; got != "a\rb" {
		t.Fatalf("header = %q, want %q", got, "a\rb")
	}
}

// TestEmptyPageMaintOKKeepsPendingCheck: "With an empty page URL, MAINT_OK
// follows ACK at once and never cancels a pending check; a later MAINT
// command does not lose it" (§9).
func TestEmptyPageMaintOKKeepsPendingCheck(t *testing.T) {
	release := make(chan struct{})
	srv := newServer(t, Options{
		MaintTimeout: time.Minute, // the test, not the clock, decides when the page answers
		Checker: urlChecker(map[string]func(context.Context) error{
			"http://page/slow": func(ctx context.Context) error {
				select {
				case <-release:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			},
		}),
	})
	c := dial(t, srv)
	c.register("svc", "inst1")
	c.addApply("a.com|/x|http://one:1|0", "a.com|/y|http://two:1|0")
	c.expect("MAINT_ENTER|{sid}|r1|http://page/slow", "ACK")
	// The empty-page MAINT_OK is written with its ACK, so the check that
	// the next line starts cannot cancel it.
	c.expect("MAINT_ENTER|{sid}|r2|\nMAINT_ENTER|{sid}|r2|", "ACK", "MAINT_OK|r2", "ACK", "MAINT_OK|r2")
	close(release)
	if got := c.read(); got != "MAINT_OK|r1" {
		t.Fatalf("got %q, want the pending check's MAINT_OK|r1", got)
	}
}

// TestLinesAfterShutdownStillRun: "Lines pipelined after CLIENT_SHUTDOWN in
// the same write are still executed" (§9): here a REGISTER that replaces
// another connection's session and so removes its routes.
func TestLinesAfterShutdownStillRun(t *testing.T) {
	srv := newServer(t, Options{})
	c, o := dial(t, srv), dial(t, srv)
	c.register("svc", "inst1")
	o.register("svc", "inst2")
	o.addApply("b.com|/y|http://two:1|0")
	c.send("CLIENT_SHUTDOWN|{sid}", "REGISTER|svc|inst2|3001|{}")
	if got := c.read(); got != "SHUTDOWN_OK" {
		t.Fatalf("got %q, want SHUTDOWN_OK", got)
	}
	c.expectEOF()
	eventually(t, "the pipelined REGISTER", func() bool { return srv.Resolve("b.com", "/y").Kind == TargetNone })
	o.expect("ROUTE_LIST|{sid}", "ERROR|session not found")
}

func TestLineLimitWithCRLF(t *testing.T) {
	srv := newServer(t, Options{Grace: time.Hour})
	c := dial(t, srv)
	sid := c.register("svc", "inst1")
	head := "PING|" + sid + "|"
	c.expect(head+strings.Repeat("x", 65534-len(head))+"\r", "PONG")
	// "a 65,535-byte line ended by CRLF drops the connection" (§9): the CR
	// counts against the server's 64 KiB buffer.
	c.send(head + strings.Repeat("x", 65535-len(head)) + "\r")
	c.expectEOF()
	eventually(t, "session in grace", func() bool { found, conn := connected(srv, sid); return found && !conn })
}
