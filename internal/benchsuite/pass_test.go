package benchsuite

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"regagent/internal/client"
	"regagent/internal/reconcile"
)

// markConn records when the REGISTER reply (ACK) was first read and when
// the first write after it went out.
type markConn struct {
	net.Conn
	mu         sync.Mutex
	ack, write time.Time
}

func (c *markConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		s := string(p[:n])
		c.mu.Lock()
		if c.ack.IsZero() && (strings.HasPrefix(s, "ACK|") || strings.Contains(s, "\nACK|")) {
			c.ack = time.Now()
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *markConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if !c.ack.IsZero() && c.write.IsZero() {
		c.write = time.Now()
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *markConn) marks() (ack, write time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ack, c.write
}

// passRegagent times the agent's first pass as a user lives it: the client
// connects, the reconnection event marks the pass due, the reconciler
// plans and sends. From the REGISTER reply read off the socket to the
// CONFIG_APPLIED event; also the client-side time from that reply to the
// first write of the plan.
func passRegagent(tb testing.TB, spec fileSpec, oneWay time.Duration) (total, first time.Duration) {
	tb.Helper()
	cfg := parseSpec(tb, spec)
	l := newLink(tb, oneWay)
	defer l.stop()
	var mc *markConn
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		mc = &markConn{Conn: c}
		return mc, nil
	}
	var r *reconcile.Reconciler
	cl, err := client.New(client.Options{
		Addr: l.addr, Service: "bench", Instance: "bench-1",
		KeepaliveInterval: -1, Dial: dial,
		// Events flow once Run starts, after r is set.
		OnEvent: func(ev client.Event) { r.HandleEvent(ev) },
	})
	if err != nil {
		tb.Fatal(err)
	}
	applied := make(chan time.Time, 1)
	r = reconcile.New(cl, reconcile.Options{OnReport: func(rep reconcile.Report) {
		if _, ok := rep.(reconcile.ConfigApplied); ok {
			select {
			case applied <- time.Now():
			default:
			}
		}
	}})
	r.SetDesired(cfg, "127.0.0.1")
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = cl.Run(ctx) }()
	go func() { defer wg.Done(); _ = r.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()
	var done time.Time
	select {
	case done = <-applied:
	case <-time.After(60 * time.Second):
		tb.Fatal("no CONFIG_APPLIED")
	}
	ack, write := mc.marks()
	checkSynced(tb, l.sim, len(cfg.Routes))
	return done.Sub(ack), write.Sub(ack)
}

// passFloor is the same sync by a raw client written for speed alone:
// REGISTER; then every route in ROUTE_ADD_BULK lines in one write; then
// every HEALTH_SET and CONFIG_APPLY in one write. From the REGISTER reply
// to the apply reply. It shares no code with internal/client.
func passFloor(tb testing.TB, n int, oneWay time.Duration) time.Duration {
	tb.Helper()
	l := newLink(tb, oneWay)
	defer l.stop()
	nc, err := net.DialTimeout("tcp", l.addr, 5*time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(time.Minute))
	rd := bufio.NewReaderSize(nc, 1<<20)
	read := func() string {
		line, err := rd.ReadString('\n')
		if err != nil {
			tb.Fatal(err)
		}
		return strings.TrimRight(line, "\r\n")
	}
	if _, err := nc.Write([]byte("REGISTER|bench|floor-1|0|{}\n")); err != nil {
		tb.Fatal(err)
	}
	sid, ok := strings.CutPrefix(read(), "ACK|")
	if !ok {
		tb.Fatal("no ACK")
	}
	start := time.Now()
	type entry struct {
		Domains  []string `json:"domains"`
		Path     string   `json:"path"`
		Backend  string   `json:"backend_url"`
		Priority int      `json:"priority"`
	}
	var buf []byte
	var lines int
	var chunk []entry
	flush := func() {
		js, _ := json.Marshal(chunk)
		buf = append(buf, "ROUTE_ADD_BULK|"+sid+"|"...)
		buf = append(buf, js...)
		buf = append(buf, '\n')
		lines++
		chunk = chunk[:0]
	}
	for i := range n {
		chunk = append(chunk, entry{Domains: []string{routeHost(i)}, Path: "/", Backend: defaultBackend(i)})
		if len(chunk) == 500 {
			flush()
		}
	}
	if len(chunk) > 0 {
		flush()
	}
	if _, err := nc.Write(buf); err != nil {
		tb.Fatal(err)
	}
	var ids []string
	for range lines {
		payload, ok := strings.CutPrefix(read(), "ROUTE_BULK_OK|")
		if !ok {
			tb.Fatal("bulk add refused")
		}
		var res []struct {
			ID string `json:"route_id"`
		}
		if err := json.Unmarshal([]byte(payload), &res); err != nil {
			tb.Fatal(err)
		}
		for _, r := range res {
			ids = append(ids, r.ID)
		}
	}
	buf = buf[:0]
	for _, id := range ids {
		buf = fmt.Appendf(buf, "HEALTH_SET|%s|%s|healthz|10s|2s\n", sid, id)
	}
	buf = fmt.Appendf(buf, "CONFIG_APPLY|%s\n", sid)
	if _, err := nc.Write(buf); err != nil {
		tb.Fatal(err)
	}
	for range ids {
		read()
	}
	if got := read(); got != "OK" {
		tb.Fatalf("apply: %s", got)
	}
	d := time.Since(start)
	checkSynced(tb, l.sim, n)
	return d
}

// BenchmarkPassVsFloor times regagent's first pass against the raw
// pipelined floor, both 100 and 1,000 routes with health checks, behind
// faultnet at 1 ms of round trip. Target: regagent ≤ 1.2× the floor.
// Each op is one pass of each, interleaved, each on a fresh registrysim.
func BenchmarkPassVsFloor(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("routes=%d", n), func(b *testing.B) {
			spec := fileSpec{Routes: n, HealthEvery: 1}
			var reg, first, floor []time.Duration
			for b.Loop() {
				t, f := passRegagent(b, spec, 500*time.Microsecond)
				reg, first = append(reg, t), append(first, f)
				floor = append(floor, passFloor(b, n, 500*time.Microsecond))
			}
			b.ReportMetric(ms(percentile(reg, 50)), "regagent-p50-ms")
			b.ReportMetric(ms(percentile(floor, 50)), "floor-p50-ms")
			b.ReportMetric(ms(percentile(first, 50)), "reply-to-first-write-p50-ms")
			b.ReportMetric(float64(percentile(reg, 50))/float64(percentile(floor, 50)), "ratio-p50")
		})
	}
}
