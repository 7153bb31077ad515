package client

import (
	"bufio"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"regagent/internal/faultnet"
	"regagent/internal/registrysim"
)

// scriptedServer is a real listener that answers lines from a script: it
// plays a future server that honours RECONNECT, which registrysim (like the
// real server, §2) never does.
func scriptedServer(tb testing.TB, answer func(conn int, line string) string) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; ; n++ {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, nc)
			mu.Unlock()
			wg.Add(1)
			go func(n int) {
				defer wg.Done()
				sc := bufio.NewScanner(nc)
				for sc.Scan() {
					if a := answer(n, sc.Text()); a != "" {
						if _, err := nc.Write([]byte(a + "\n")); err != nil {
							return
						}
					}
				}
			}(n)
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func TestReconnectRestoredSession(t *testing.T) {
	t.Parallel()
	drop := make(chan struct{})
	var once sync.Once
	addr := scriptedServer(t, func(n int, line string) string {
		switch {
		case strings.HasPrefix(line, "REGISTER|"):
			return "ACK|s1"
		case line == "RECONNECT|s1":
			return "OK"
		case strings.HasPrefix(line, "PING|") && n == 0:
			once.Do(func() { close(drop) })
			return ""
		case strings.HasPrefix(line, "PING|"):
			return "PONG"
		}
		return "ERROR|unknown command: " + line
	})
	h := newClient(t, addr, func(c *Options) {
		c.KeepaliveInterval = 10 * time.Millisecond
		c.KeepaliveTimeout = 50 * time.Millisecond
	})
	h.run(t)
	await[Connected](t, h.rec, nil)
	<-drop // the first connection swallowed a PING: keepalive drops it
	e := await[Reconnected](t, h.rec, nil)
	if e.Replay || h.c.Generation() != 1 || h.c.SessionID() != "s1" {
		t.Fatalf("Reconnected %+v, generation %d", e, h.c.Generation())
	}
}

func TestReconnectThroughRelayFaults(t *testing.T) {
	sim := startSim(t, registrysim.Options{})
	relay := faultnet.New(sim.Addr())
	if err := relay.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = relay.Close() })
	h := connected(t, relay.Addr(), nil)
	relay.Refuse(true)
	relay.ResetAll()
	await[Disconnected](t, h.rec, nil)
	await(t, h.rec, func(e Retrying) bool { return e.Attempt == 3 && e.Err != nil })
	relay.Refuse(false)
	await[Reconnected](t, h.rec, nil)
	// A line cut half-way: the server never sees a whole command, the
	// client sees the connection fail and reconnects.
	relay.CutAfter(10)
	if _, err := addRoute(ctxT(t), h.c, Route{Path: "/cut", Backend: "http://x:1"}); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("AddRoute over a cut connection: %v, want ErrDisconnected", err)
	}
	await[Reconnected](t, h.rec, nil)
	if err := ping(ctxT(t), h.c); err != nil {
		t.Fatal(err)
	}
}

func TestNewValidates(t *testing.T) {
	for name, cfg := range map[string]Options{
		"no addr":       {Service: "s", Instance: "i"},
		"no service":    {Addr: "x:1", Instance: "i"},
		"pipe instance": {Addr: "x:1", Service: "s", Instance: "i|j"},
		"pipe metadata": {Addr: "x:1", Service: "s", Instance: "i", Metadata: map[string]string{"a": "b|c"}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
	huge := map[string]string{"blob": strings.Repeat("x", LineBudget)}
	if _, err := New(Options{Addr: "x:1", Service: "s", Instance: "i", Metadata: huge}); !errors.Is(err, ErrLineTooLong) {
		t.Errorf("New with a REGISTER over the line budget = %v, want ErrLineTooLong", err)
	}
}
