package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/stripesync/stripesync/metrics"
)

func TestReconcileFinishedSetsEveryKindFromTheLastRun(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.ReconcileFinished(map[string]int{"payment_missing": 2, "customer_duplicate": 1}, time.Unix(1700000000, 0))
	m.ReconcileFinished(map[string]int{"payment_missing": 0, "customer_duplicate": 1}, time.Unix(1700604800, 0))
	want := `
# HELP stripesync_reconcile_drift Drift items the last finished reconcile found, by kind (see sync.DriftKinds); every kind is set by each run.
# TYPE stripesync_reconcile_drift gauge
stripesync_reconcile_drift{kind="customer_duplicate"} 1
stripesync_reconcile_drift{kind="payment_missing"} 0
# HELP stripesync_reconcile_last_run_timestamp_seconds When the last reconcile that ran to the end finished, in Unix seconds; 0 before the first.
# TYPE stripesync_reconcile_last_run_timestamp_seconds gauge
stripesync_reconcile_last_run_timestamp_seconds 1.7006048e+09
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"stripesync_reconcile_drift", "stripesync_reconcile_last_run_timestamp_seconds"); err != nil {
		t.Error(err)
	}
}
