// Package metrics defines the daemon's Prometheus metrics and serves them.
//
// Everything is registered on a Registerer that the caller owns (one fresh
// prometheus.NewRegistry per process, and per test), never on the global
// default registry, so two daemons or two tests in one process do not collide.
// Adapters report through the observer returned by [Metrics.OnCall]; the sync
// engine reports through [Metrics.AccountsHandled] and [Metrics.RunFinished];
// cmd/stripesync mounts [Handler] at GET /metrics.
package metrics
