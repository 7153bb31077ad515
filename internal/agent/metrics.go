package agent

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"regagent/internal/client"
	"regagent/internal/reconcile"
)

// metrics are the agent's Prometheus series, registered on the registry the
// caller gave (no global registry).
type metrics struct {
	reloads    *prometheus.CounterVec
	applyTime  prometheus.Histogram
	events     *prometheus.CounterVec
	reconnects prometheus.Counter
	commands   *prometheus.CounterVec
	roundTrip  prometheus.Histogram
}

func newMetrics(reg *prometheus.Registry, a *Agent) *metrics {
	m := &metrics{
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "regagent_config_reloads_total",
			Help: "Config file contents read, by result (valid, invalid).",
		}, []string{"result"}),
		applyTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "regagent_reconcile_duration_seconds",
			Help:    "Duration of reconcile passes that sent commands.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 4, 9),
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "regagent_events_total",
			Help: "Events emitted, by type.",
		}, []string{"type"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "regagent_reconnects_total",
			Help: "Successful reconnections to the registry.",
		}),
		commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "regagent_commands_total",
			Help: "Protocol commands answered by the registry, by command.",
		}, []string{"command"}),
		roundTrip: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "regagent_round_trip_seconds",
			Help:    "Time from a write to the registry's last reply to it (one write may carry many commands).",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 9),
		}),
	}
	reg.MustRegister(m.reloads, m.applyTime, m.events, m.reconnects, m.commands, m.roundTrip,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "regagent_connected",
			Help: "1 while the registry connection is up.",
		}, func() float64 { return boolFloat(a.connected()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "regagent_routes_applied",
			Help: "Routes this agent has live in its session.",
		}, func() float64 { return float64(a.routesApplied()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "regagent_maintenance_active",
			Help: "Backend URLs this agent holds in maintenance in the proxy.",
		}, func() float64 { return float64(a.maintenanceActive()) }),
		counterFunc("regagent_reconcile_passes_total", "Reconcile passes run.", a, func(s recStatus) int { return s.Passes }),
		counterFunc("regagent_reconcile_errors_total", "Reconcile passes that failed.", a, func(s recStatus) int { return s.Errors }),
		counterFunc("regagent_writes_total", "Pipelined writes (round trips) sent by the reconciler.", a, func(s recStatus) int { return s.Writes }),
		counterFunc("regagent_drift_repairs_total", "Drift found between the proxy and the applied state.", a, func(s recStatus) int { return s.Drifts }),
		counterFunc("regagent_replays_total", "Full replays after a new session.", a, func(s recStatus) int { return s.Replays }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "regagent_config_valid",
			Help: "1 when the file's current content is valid.",
		}, func() float64 { return boolFloat(a.configValid()) }),
	)
	return m
}

// observe turns events into counts.
func (m *metrics) observe(ev Event) {
	m.events.WithLabelValues(ev.Name).Inc()
	switch d := ev.Detail.(type) {
	case client.Reconnected:
		m.reconnects.Inc()
	case reconcile.ConfigApplied:
		m.applyTime.Observe(d.Duration.Seconds())
	}
}

type recStatus = reconcile.Status

func counterFunc(name, help string, a *Agent, f func(recStatus) int) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 {
		s, ok := a.recStatus()
		if !ok {
			return 0
		}
		return float64(f(s))
	})
}

// observeRoundTrip is the client's OnRoundTrip.
func (m *metrics) observeRoundTrip(cmds []string, rtt time.Duration) {
	for _, c := range cmds {
		m.commands.WithLabelValues(c).Inc()
	}
	m.roundTrip.Observe(rtt.Seconds())
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
