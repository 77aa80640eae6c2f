package store_test

import (
	"testing"

	"github.com/stripesync/stripesync/store/storetest"
)

// TestReserveAcrossPools races reservations of one invoice's whole balance
// through two pools on one database, as two replicas (Postgres) or the
// daemon and a CLI command (SQLite) would: exactly one may succeed; then
// payers on both pay another invoice in parts, and it ends paid exactly.
func TestReserveAcrossPools(t *testing.T) {
	t.Parallel()
	for dialect, open := range dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			url, _ := open(t)
			a, b := openMigrated(t, url), openMigrated(t, url)
			storetest.ReserveRace(t, a, b)
			storetest.PayRace(t, a, b)
		})
	}
}
