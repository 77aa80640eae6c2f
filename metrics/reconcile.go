package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// reconcileGauges are the outcome of the last finished reconcile, for the
// alert on drift (deploy/prometheus/alerts.yml).
type reconcileGauges struct {
	drift   *prometheus.GaugeVec
	lastRun prometheus.Gauge
}

// newReconcileGauges makes the reconcile gauges and registers them on reg.
func newReconcileGauges(reg prometheus.Registerer) reconcileGauges {
	g := reconcileGauges{
		drift: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "stripesync_reconcile_drift",
			Help: "Drift items the last finished reconcile found, by kind (see sync.DriftKinds); every kind is set by each run.",
		}, []string{"kind"}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "stripesync_reconcile_last_run_timestamp_seconds",
			Help: "When the last reconcile that ran to the end finished, in Unix seconds; 0 before the first.",
		}),
	}
	reg.MustRegister(g.drift, g.lastRun)
	return g
}

// ReconcileFinished records the drift of a reconcile that ran to the end
// (sync.ReconcileObserver): every kind it reports is set, zeros included,
// so a kind that is fixed goes back to 0.
func (m *Metrics) ReconcileFinished(drift map[string]int, at time.Time) {
	if m == nil {
		return
	}
	m.reconcile.drift.Reset()
	for kind, n := range drift {
		m.reconcile.drift.WithLabelValues(kind).Set(float64(n))
	}
	m.reconcile.lastRun.Set(float64(at.UnixNano()) / 1e9)
}
