package registrysim

import (
	"testing"
)

type step struct {
	send string   // one line, or several joined by "\n" sent in one write
	want []string // reply lines in order; "~" prefix = regexp
	eof  bool     // then the server closes the connection
}

func s(send string, want ...string) step { return step{send: send, want: want} }

// TestConformance replays the request/response pairs of PROTOCOL.md, one
// connection per case. Cases with register start with REGISTER|svc|inst1.
func TestConformance(t *testing.T) {
	const sidRe = `inst1-\d+-\d+`
	tests := []struct {
		name     string
		register bool
		steps    []step
	}{
		{"§1 unknown command is case-sensitive", true, []step{
			s("ping", "ERROR|unknown command: ping"),
			s("FOO|x", "ERROR|unknown command: FOO"),
		}},
		// §9: before any REGISTER every line gets "no session", even PING
		// and an unknown command.
		{"§2 commands before REGISTER", false, []step{
			s("PING|x", "ERROR|no session"),
			s("PING", "ERROR|no session"),
			s("ping", "ERROR|no session"),
			s("RECONNECT|inst1-1795652634-331452", "ERROR|no session"),
			s("ROUTE_LIST|x", "ERROR|no session"),
			s("CONFIG_APPLY|x", "ERROR|no session"),
		}},
		{"§2 REGISTER", false, []step{
			s("REGISTER|svc|inst1", "ERROR|invalid format"),
			s("REGISTER|svc|inst1|3001|{bad", "ERROR|invalid metadata json"),
			s(`REGISTER|svc|inst1|3001|["a"]`, "ERROR|invalid metadata json"),
			s("REGISTER|svc|inst1|3001", "~ACK\\|"+sidRe),
			s(`REGISTER|svc|inst1|3001|{"env":"prod"}`, "~ACK\\|"+sidRe),
		}},
		{"§2 after REGISTER", true, []step{
			s("PING|{sid}", "PONG"),
			s("RECONNECT|{sid}", "OK"),
			s("RECONNECT|someone-else", "OK"),
			s("ROUTE_ADD|NOT-A-SESSION|a.com|/x|http://b:1|0", "ROUTE_OK|r1"),
			s("ping|{sid}", "ERROR|unknown command: ping"),
			// §9: commands whose only field is the session id work bare.
			s("PING", "PONG"),
			s("CONFIG_APPLY", "OK"),
			s("ROUTE_LIST", `ROUTE_LIST_OK|[{"backend":"http://b:1","domains":["a.com"],"path":"/x","priority":0,"route_id":"r1","status":"active"}]`),
			s("STATS_GET", `STATS_OK|[{"errors":0,"requests":0,"route_id":"r1"}]`),
			s("ROUTE_REMOVE", "ERROR|invalid format"),
			s("PING|{sid}|extra|fields", "PONG"),
			s("SESSION_INFO|{sid}", `~SESSION_OK\|\{"connected_at":"[^"]+","instance_name":"inst1","last_activity":"[^"]+","metadata":\{\},"routes_active":1,"routes_staged":0,"service_name":"svc","session_id":"`+sidRe+`","uptime_seconds":\d+\}`),
		}},
		{"§1 CRLF and empty lines", true, []step{
			s("PING|{sid}\r\n\r\n\nPING|{sid}\r", "PONG", "PONG"),
		}},
		{"§3 ROUTE_ADD", true, []step{
			s("ROUTE_ADD|{sid}|a.com,b.com|/api|http://127.0.0.1:3000|10", "ROUTE_OK|r1"),
			s("ROUTE_ADD|{sid}|a.com||http://127.0.0.1:3000|10", "ERROR|path cannot be empty"),
			s("ROUTE_ADD|{sid}|a.com|/x|127.0.0.1:3000|10", "ERROR|invalid backend url format"),
			s("ROUTE_ADD|{sid}|a.com|/x|http://b:1", "ERROR|invalid format"),
			s("ROUTE_ADD|{sid}||/x|http://b:1|0", "ROUTE_OK|r2"),
			s("ROUTE_ADD|{sid}|a.com|api|http://b:1|0", "ROUTE_OK|r3"),
			s("ROUTE_ADD|{sid}|a.com|/p|http://b:1|high", "ROUTE_OK|r4"),
			s("ROUTE_ADD|{sid}|a.com|/f|foo://bar|0", "ROUTE_OK|r5"),
			s("ROUTE_LIST|{sid}", `ROUTE_LIST_OK|[`+
				`{"backend":"http://127.0.0.1:3000","domains":["a.com","b.com"],"path":"/api","priority":10,"route_id":"r1","status":"staged"},`+
				`{"backend":"http://b:1","domains":[""],"path":"/x","priority":0,"route_id":"r2","status":"staged"},`+
				`{"backend":"http://b:1","domains":["a.com"],"path":"api","priority":0,"route_id":"r3","status":"staged"},`+
				`{"backend":"http://b:1","domains":["a.com"],"path":"/p","priority":0,"route_id":"r4","status":"staged"},`+
				`{"backend":"foo://bar","domains":["a.com"],"path":"/f","priority":0,"route_id":"r5","status":"staged"}]`),
		}},
		{"§3 ROUTE_ADD_BULK", true, []step{
			s(`ROUTE_ADD_BULK|{sid}|[{"domains":["a.com"],"path":"/a","backend_url":"http://b:1","priority":1},{"domains":["a.com"],"path":"/b","backend_url":"http://b:2","priority":2}]`,
				`ROUTE_BULK_OK|[{"route_id":"r1","status":"ok"},{"route_id":"r2","status":"ok"}]`),
			s(`ROUTE_ADD_BULK|{sid}|[{"domains":["a.com"],"path":"/a|b","backend_url":"http://b:1"}]`, "ERROR|invalid json"),
			s(`ROUTE_ADD_BULK|{sid}|{"domains":[]}`, "ERROR|invalid json"),
			s(`ROUTE_ADD_BULK|{sid}|[{"domains":["c.com"],"path":"/c","backend_url":"http://b:3","priority":0},{"domains":["c.com"],"path":"","backend_url":"http://b:3"}]`,
				"ERROR|path cannot be empty"),
			s("CONFIG_DIFF|{sid}", `DIFF_OK|{"headers":0,"options":0,"routes":{"added":3,"removed":0}}`), // the 1st entry stayed staged
			s(`ROUTE_ADD_BULK|{sid}|[]`, `ROUTE_BULK_OK|[]`),
			// §9: no domains is refused; keys are case-sensitive
			s(`ROUTE_ADD_BULK|{sid}|[{"domains":[],"path":"/d","backend_url":"http://b:1"}]`, "ERROR|no domains specified"),
			s(`ROUTE_ADD_BULK|{sid}|[{"Domains":["a.com"],"path":"/d","backend_url":"http://b:1"}]`, "ERROR|no domains specified"),
			s(`ROUTE_ADD_BULK|{sid}|[{"domains":["a.com"],"Path":"/d","backend_url":"http://b:1"}]`, "ERROR|path cannot be empty"),
		}},
		{"§3 ROUTE_UPDATE", true, []step{
			s("ROUTE_ADD|{sid}|a.com|/x|http://b:1|0\nCONFIG_APPLY|{sid}", "ROUTE_OK|r1", "OK"),
			s("ROUTE_UPDATE|{sid}|r1|colour|red", "ERROR|unknown field"),
			s("ROUTE_UPDATE|{sid}|r9|priority|1", "ERROR|route not found"),
			s("ROUTE_UPDATE|{sid}|r1|backend_url|b:2", "ERROR|invalid backend url"),
			s("ROUTE_UPDATE|{sid}|r1|backend_url|http://b:2", "ROUTE_OK"),
			s("ROUTE_UPDATE|{sid}|r1|priority|5", "ROUTE_OK"),
			s("ROUTE_UPDATE|{sid}|r1|domains|a.com,c.com", "ROUTE_OK"),
			s("ROUTE_UPDATE|{sid}|r1", "ERROR|invalid format"),
			// an updated active route appears twice: active + staged copy
			s("ROUTE_LIST|{sid}", `ROUTE_LIST_OK|[`+
				`{"backend":"http://b:1","domains":["a.com"],"path":"/x","priority":0,"route_id":"r1","status":"active"},`+
				`{"backend":"http://b:2","domains":["a.com","c.com"],"path":"/x","priority":5,"route_id":"r1","status":"staged"}]`),
		}},
		{"§3 ROUTE_REMOVE and ROUTE_LIST", true, []step{
			s("ROUTE_LIST|{sid}", "ROUTE_LIST_OK|[]"),
			s("ROUTE_ADD|{sid}|a.com|/x|http://b:1|0\nCONFIG_APPLY|{sid}", "ROUTE_OK|r1", "OK"),
			s("ROUTE_REMOVE|{sid}|r7", "ERROR|route not found"),
			s("ROUTE_REMOVE|{sid}|r1", "ROUTE_OK"),
			s("ROUTE_REMOVE|{sid}|r1", "ROUTE_OK"),
			// staged removals still read active
			s("ROUTE_LIST|{sid}", `ROUTE_LIST_OK|[{"backend":"http://b:1","domains":["a.com"],"path":"/x","priority":0,"route_id":"r1","status":"active"}]`),
			s("CONFIG_DIFF|{sid}", `DIFF_OK|{"headers":0,"options":0,"routes":{"added":0,"removed":1}}`),
			s("CONFIG_APPLY|{sid}", "OK"),
			s("ROUTE_LIST|{sid}", "ROUTE_LIST_OK|[]"),
			s("ROUTE_REMOVE|{sid}|r1", "ERROR|route not found"),
		}},
		{"§3 health, options, headers, rate limit, circuit breaker", true, []step{
			s("HEALTH_SET|{sid}|r999|/health|10s|2s", "HEALTH_OK"),
			s("HEALTH_SET|{sid}|r1|/health|soon|never", "HEALTH_OK"),
			s("OPTIONS_SET|{sid}|ALL|timeout|30s", "OPTIONS_OK"),
			s("OPTIONS_SET|{sid}|r1|timeout|30s", "ERROR|route-specific options not yet supported"),
			s("OPTIONS_REMOVE|{sid}|ALL|timeout", "OPTIONS_OK"),
			s("OPTIONS_REMOVE|{sid}|r1|timeout", "ERROR|route-specific options not yet supported"),
			s("HEADERS_SET|{sid}|ALL|X-Env|prod", "HEADERS_OK"),
			s("HEADERS_SET|{sid}|r1|X-Env|prod", "ERROR|route-specific headers not yet supported"),
			s("HEADERS_SET|{sid}|all|X-Env|prod", "ERROR|route-specific headers not yet supported"),
			s("HEADERS_REMOVE|{sid}|ALL|X-Other", "HEADERS_OK"),
			s("HEADERS_REMOVE|{sid}|all|X-Other", "ERROR|route-specific headers not yet supported"),
			s("HEADERS_SET|{sid}|ALL|X-Env", "ERROR|invalid format"),
			s("RATELIMIT_SET|{sid}|r1|100|1m", "RATELIMIT_OK"),
			s("CIRCUIT_BREAKER_SET|{sid}|r1|5|30s|2", "CIRCUIT_OK"),
			s("CONFIG_DIFF|{sid}", `DIFF_OK|{"headers":1,"options":0,"routes":{"added":0,"removed":0}}`), // a removal unstages: not counted
			s("CONFIG_ROLLBACK|{sid}", "OK"),
			s("CONFIG_DIFF|{sid}", `DIFF_OK|{"headers":0,"options":0,"routes":{"added":0,"removed":0}}`),
		}},
		{"§3 CONFIG_VALIDATE and CONFIG_APPLY errors", true, []step{
			s("CONFIG_APPLY|{sid}", "OK"), // nothing staged
			s("CONFIG_VALIDATE|{sid}", "OK"),
			s("ROUTE_ADD|{sid}|a.com|/x|http://b:1|0", "ROUTE_OK|r1"),
			s("ROUTE_UPDATE|{sid}|r1|path|", "ROUTE_OK"),
			s("CONFIG_VALIDATE|{sid}", "ERROR|route r1: path cannot be empty"),
			s("CONFIG_APPLY|{sid}", "ERROR|route r1: path cannot be empty"),
			s("ROUTE_LIST|{sid}", `ROUTE_LIST_OK|[{"backend":"http://b:1","domains":["a.com"],"path":"","priority":0,"route_id":"r1","status":"staged"}]`),
			s("CONFIG_ROLLBACK|{sid}", "OK"),
			s("ROUTE_LIST|{sid}", "ROUTE_LIST_OK|[]"),
			s("ROUTE_ADD|{sid}|a.com|/ok|http://b:1|0", "ROUTE_OK|r2"),
			s("ROUTE_ADD|{sid}|a.com|/bad|http://bad host|0", "ROUTE_OK|r3"),
			s("CONFIG_VALIDATE|{sid}", "OK"),
			s("CONFIG_APPLY|{sid}", `ERROR|failed to add route r3: invalid backend URL: parse "http://bad host": invalid character " " in host name`),
		}},
		{"§3 CONFIG_DIFF counts", true, []step{
			s("ROUTE_ADD|{sid}|a.com|/1|http://b:1|0\nROUTE_ADD|{sid}|a.com|/2|http://b:1|0\nCONFIG_APPLY|{sid}", "ROUTE_OK|r1", "ROUTE_OK|r2", "OK"),
			s("ROUTE_REMOVE|{sid}|r1\nROUTE_REMOVE|{sid}|r2\nROUTE_ADD|{sid}|a.com|/3|http://b:1|0", "ROUTE_OK", "ROUTE_OK", "ROUTE_OK|r3"),
			s("CONFIG_DIFF|{sid}", `DIFF_OK|{"headers":0,"options":0,"routes":{"added":1,"removed":2}}`),
		}},
		{"§5 maintenance", true, []step{
			s("ROUTE_ADD|{sid}|a.com|/x|http://b:1|0\nROUTE_ADD|{sid}|a.com|/y|http://b:2|0\nCONFIG_APPLY|{sid}", "ROUTE_OK|r1", "ROUTE_OK|r2", "OK"),
			s("MAINT_ENTER|{sid}|ALL", "ERROR|invalid format"),
			s("MAINT_STATUS|{sid}", `MAINT_STATUS_OK|{"in_maintenance":[]}`),
			s("MAINT_ENTER|{sid}|ALL|", "ACK", "MAINT_OK|ALL"),
			s("MAINT_STATUS|{sid}", `MAINT_STATUS_OK|{"in_maintenance":["r1","r2"]}`),
			s("MAINT_EXIT|{sid}|ALL", "ACK", "MAINT_OK|ALL"),
			s("MAINT_ENTER|{sid}|r2,/admin,admin.example.com,r999999|", "ACK", "MAINT_OK|r2,/admin,admin.example.com,r999999"),
			s("MAINT_STATUS|{sid}", `MAINT_STATUS_OK|{"in_maintenance":["/admin","admin.example.com","r2","r999999"]}`),
			s("MAINT_EXIT|{sid}|r2,/admin", "ACK", "MAINT_OK|r2,/admin"),
			s("MAINT_EXIT|{sid}", "ERROR|invalid format"),
		}},
		{"§6 other commands", true, []step{
			s("DRAIN_STATUS|{sid}", "ERROR|no drain in progress"),
			s("DRAIN_START|{sid}|30s", `~DRAIN_OK\|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`),
			s("DRAIN_STATUS|{sid}", `~DRAIN_STATUS_OK\|\{"active":true,"duration_seconds":30,"elapsed_seconds":\d+,"remaining_seconds":\d+,"started_at":"[^"]+","traffic_percent":\d+\}`),
			s("DRAIN_CANCEL|{sid}", "DRAIN_OK"),
			s("DRAIN_STATUS|{sid}", "ERROR|no drain in progress"),
			s("DRAIN_CANCEL|{sid}", "ERROR|no drain in progress"),                     // §9
			s("DRAIN_START|{sid}|soon", `~DRAIN_OK\|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`), // §9: accepted
			s("DRAIN_CANCEL|{sid}", "DRAIN_OK"),
			s("STATS_GET|{sid}|ALL", "STATS_OK|[]"),
			s("BACKEND_TEST|{sid}|http://127.0.0.1:1", `~BACKEND_OK\|\{"latency_ms":\d+,"reachable":true\}`),
			s("SUBSCRIBE|{sid}|route_change", "SUBSCRIBE_OK"),
		}},
		{"§2 CLIENT_SHUTDOWN", true, []step{
			{send: "CLIENT_SHUTDOWN|{sid}", want: []string{"SHUTDOWN_OK"}, eof: true},
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
				if st.eof {
					c.expectEOF()
				}
			}
		})
	}
}
