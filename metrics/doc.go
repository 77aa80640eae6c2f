// Package metrics defines the daemon's Prometheus metrics and serves them.
//
// Everything is registered on a Registerer that the caller owns (one fresh
// prometheus.NewRegistry per process, and per test), never on the global
// default registry, so two daemons or two tests in one process do not collide.
// Adapters report through the observer returned by [Metrics.OnCall]; the sync
// engine reports through [Metrics.AccountsHandled] and [Metrics.RunFinished];
// the daily prune through [Metrics.Pruned]. The inbox backlog is not pushed
// by anyone: [NewBacklogCollector] reads it from the store at each scrape.
// cmd/stripesync mounts [Handler] at GET /metrics.
package metrics
