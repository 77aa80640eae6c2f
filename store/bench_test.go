package store_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/store/storetest"
)

// BenchmarkSaveAccountLink measures the cost of recording one push result on
// SQLite (each save is its own durable commit), sequentially and from
// concurrent goroutines.
func BenchmarkSaveAccountLink(b *testing.B) {
	link := func(i int64) stripesync.AccountLink {
		return stripesync.AccountLink{
			CRMID: fmt.Sprintf("001%015d", i), StripeID: fmt.Sprintf("cus_%d", i),
			Policy: stripesync.PolicyCreate, State: stripesync.LinkBound,
			Hash: "9f86d081884c7d659a2feaa0c55ad015", Version: 1, SyncedAt: time.Now(),
		}
	}
	b.Run("sequential", func(b *testing.B) {
		db := storetest.OpenSQLite(b)
		var i int64
		for b.Loop() {
			i++
			if err := db.SaveAccountLink(b.Context(), link(i)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		db := storetest.OpenSQLite(b)
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := db.SaveAccountLink(b.Context(), link(n.Add(1))); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
