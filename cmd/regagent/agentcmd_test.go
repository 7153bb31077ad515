package main

import (
	"context"
	"encoding/json"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// scriptAgentKey finds a script's scriptAgent among its values.
type scriptAgentKey struct{}

// scriptAgent is an agent a script runs in this process, beside the
// commands it execs, so that they have a live status endpoint to read.
type scriptAgent struct {
	cancel         context.CancelFunc
	exited         chan struct{} // closed once code is set
	code           int
	stdout, stderr *syncBuffer
	seen           int // of stderr, by earlier waits
}

// cmdAgent is the scripts' "agent" command:
//
//	agent demo|run FILE [FLAG...]  start `regagent demo|run -c FILE FLAG...` with
//	                               the status endpoint on a free port: $STATUS_ADDR
//	                               (127.0.0.1:PORT) and $STATUS_PORT
//	agent wait REGEXP...           wait until every REGEXP matches what the agent
//	                               logged since the last wait
//	agent stop                     end it as Ctrl-C does; it must exit 0
//
// The agent sees no environment variables (the script's may change while
// it runs); its ${SELF_IP} is its own.
func cmdAgent(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! agent")
	}
	if len(args) == 0 {
		ts.Fatalf("usage: agent demo|run FILE [FLAG...] | agent wait REGEXP | agent stop")
	}
	a := ts.Value(scriptAgentKey{}).(*scriptAgent)
	switch args[0] {
	case "demo", "run":
		if len(args) < 2 {
			ts.Fatalf("usage: agent %s FILE [FLAG...]", args[0])
		}
		if a.cancel != nil {
			ts.Fatalf("an agent is running already")
		}
		cmd := append([]string{args[0], "-c", ts.MkAbs(args[1]), "--status-addr", "127.0.0.1:0",
			"--log-format", "json"}, args[2:]...)
		a.stdout, a.stderr = newSyncBuffer(), newSyncBuffer()
		env := &environment{stdout: a.stdout, stderr: a.stderr, getenv: func(string) (string, bool) { return "", false }}
		ctx, cancel := context.WithCancel(context.Background())
		a.cancel, a.exited = cancel, make(chan struct{})
		go func() {
			a.code = exitCode(run(ctx, cmd, env), env.stderr)
			close(a.exited)
		}()
		ts.Defer(func() { a.stop() })
		if !a.stderr.awaitMatch(regexp.MustCompile(`"msg":"status endpoint listening"`), a.exited) {
			ts.Fatalf("the agent did not start its status endpoint:\n%s", a.stderr.String())
		}
		addr := listenAddr(a.stderr.String())
		_, port, err := net.SplitHostPort(addr)
		ts.Check(err)
		ts.Setenv("STATUS_ADDR", addr)
		ts.Setenv("STATUS_PORT", port)
	case "wait":
		if len(args) < 2 || a.cancel == nil {
			ts.Fatalf("usage: agent wait REGEXP..., with an agent running")
		}
		var res []*regexp.Regexp
		for _, arg := range args[1:] {
			re, err := regexp.Compile(arg)
			ts.Check(err)
			res = append(res, re)
		}
		end, ok := a.stderr.awaitAll(a.seen, res, a.exited)
		if !ok {
			ts.Fatalf("not all of %q in the agent's log since the last wait:\n%s", args[1:], a.stderr.String()[a.seen:])
		}
		a.seen = end
	case "stop":
		if a.cancel == nil {
			ts.Fatalf("no agent is running")
		}
		if code := a.stop(); code != exitOK {
			ts.Fatalf("the agent exited %d:\n%s", code, a.stderr.String())
		}
	default:
		ts.Fatalf("unknown agent command %q", args[0])
	}
}

// stop cancels the agent and returns its exit code; -1 when it does not end.
func (a *scriptAgent) stop() int {
	if a.cancel == nil {
		return exitOK
	}
	a.cancel()
	a.cancel = nil
	select {
	case <-a.exited:
		return a.code
	case <-time.After(20 * time.Second):
		return -1
	}
}

// awaitMatch waits until the buffer matches re, and reports whether it
// does; it gives up when exited is closed (the command ended) or after a
// generous bound.
func (s *syncBuffer) awaitMatch(re *regexp.Regexp, exited <-chan struct{}) bool {
	_, ok := s.awaitAll(0, []*regexp.Regexp{re}, exited)
	return ok
}

// awaitAll waits until every one of res matches the buffer from offset
// from on, and returns the end of the last match; ok is false when it
// gives up as awaitMatch does.
func (s *syncBuffer) awaitAll(from int, res []*regexp.Regexp, exited <-chan struct{}) (end int, ok bool) {
	timeout := time.After(10 * time.Second)
	matchAll := func() (int, bool) {
		text, end := s.String()[from:], from
		for _, re := range res {
			loc := re.FindStringIndex(text)
			if loc == nil {
				return 0, false
			}
			end = max(end, from+loc[1])
		}
		return end, true
	}
	for {
		if end, ok := matchAll(); ok {
			return end, true
		}
		select {
		case <-s.changed:
		case <-exited:
			return matchAll()
		case <-timeout:
			return 0, false
		}
	}
}

// listenAddr finds the status endpoint's address in JSON log lines.
func listenAddr(logs string) string {
	for line := range strings.SplitSeq(logs, "\n") {
		var rec struct {
			Msg     string `json:"msg"`
			Address string `json:"address"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "status endpoint listening" {
			return rec.Address
		}
	}
	return ""
}
