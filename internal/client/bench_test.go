package client

import (
	"fmt"
	"testing"
	"time"

	"regagent/internal/faultnet"
	"regagent/internal/registrysim"
)

const benchRoutes = 1000

func benchRouteBatch() []Command {
	cmds := make([]Command, benchRoutes)
	for i := range cmds {
		cmds[i] = Command{Name: "ROUTE_ADD", Args: []string{"bench.example.com", fmt.Sprintf("/r%d", i), "http://10.0.0.1:8080", "1"}}
	}
	return cmds
}

// benchmarkRouteAdd stages 1,000 routes per op, pipelined (one Send) or one
// ROUTE_ADD at a time, and reports both and their ratio. oneWay is the
// latency faultnet adds in each direction (RTT + 2×oneWay).
func benchmarkRouteAdd(b *testing.B, oneWay time.Duration) {
	sim := startSim(b, registrysim.Options{})
	addr := sim.Addr()
	if oneWay > 0 {
		relay := faultnet.New(sim.Addr())
		if err := relay.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = relay.Close() })
		relay.SetLatency(oneWay)
		addr = relay.Addr()
	}
	h := newClient(b, addr, nil)
	h.run(b)
	await[Connected](b, h.rec, nil)
	c, ctx := h.c, ctxT(b)
	cmds := benchRouteBatch()
	var pipe, seq time.Duration
	b.ResetTimer()
	for range b.N {
		var batch Batch
		for _, cmd := range cmds {
			batch.add(cmd)
		}
		start := time.Now()
		res, err := c.Send(ctx, &batch)
		pipe += time.Since(start)
		if err != nil || res[benchRoutes-1].Reply.Kind != "ROUTE_OK" {
			b.Fatalf("pipelined: %v", err)
		}
		b.StopTimer()
		if err := rollbackConfig(ctx, c); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start = time.Now()
		for _, cmd := range cmds {
			if r, err := c.Do(ctx, cmd); err != nil || r.Kind != "ROUTE_OK" {
				b.Fatalf("sequential: %v %v", r, err)
			}
		}
		seq += time.Since(start)
		b.StopTimer()
		if err := rollbackConfig(ctx, c); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(pipe.Microseconds())/1000/n, "pipelined-ms/1000routes")
	b.ReportMetric(float64(seq.Microseconds())/1000/n, "sequential-ms/1000routes")
	b.ReportMetric(benchRoutes*n/pipe.Seconds(), "pipelined-routes/s")
	b.ReportMetric(benchRoutes*n/seq.Seconds(), "sequential-routes/s")
	b.ReportMetric(seq.Seconds()/pipe.Seconds(), "speedup")
}

func BenchmarkRouteAdd1000(b *testing.B) {
	b.Run("loopback", func(b *testing.B) { benchmarkRouteAdd(b, 0) })
	b.Run("rtt1ms", func(b *testing.B) { benchmarkRouteAdd(b, 500*time.Microsecond) })
}
