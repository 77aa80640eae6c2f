package storetest

import (
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/store"
)

const lease = time.Minute

// enqueue adds j and fails the test unless the store reports inserted.
func enqueue(t *testing.T, db *store.DB, j stripesync.Job) {
	t.Helper()
	ok, err := db.Enqueue(t.Context(), j)
	if err != nil || !ok {
		t.Fatalf("Enqueue(%s/%s) = %v, %v; want true, nil", j.Kind, j.Key, ok, err)
	}
}

// claim claims up to n jobs of kind and returns their keys in claim order.
func claim(t *testing.T, db *store.DB, kind string, n int) ([]string, []stripesync.Job) {
	t.Helper()
	jobs, err := db.Claim(t.Context(), kind, n, lease)
	if err != nil {
		t.Fatalf("Claim(%s, %d): %v", kind, n, err)
	}
	var keys []string
	for _, j := range jobs {
		keys = append(keys, j.Key)
	}
	return keys, jobs
}

// testQueue runs each part on its own store, so that a failure names the part
// and one part runs alone (-run 'TestSQLite/Queue/RoundTrip').
func testQueue(t *testing.T, setup setupFunc) {
	t.Run("CompleteSeveral", func(t *testing.T) { testQueueCompleteSeveral(t, setup) })
	t.Run("RoundTrip", func(t *testing.T) { testQueueRoundTrip(t, setup) })
	t.Run("EnqueueDedupe", func(t *testing.T) { testQueueEnqueueDedupe(t, setup) })
	t.Run("ClaimRespectsRunAtAndOrder", func(t *testing.T) { testQueueClaimRespectsRunAtAndOrder(t, setup) })
	t.Run("LeaseExpiryReclaims", func(t *testing.T) { testQueueLeaseExpiryReclaims(t, setup) })
	t.Run("FailRetriesThenDeadLetters", func(t *testing.T) { testQueueFailRetriesThenDeadLetters(t, setup) })
	t.Run("ExpiredFinalLeaseDeadLetters", func(t *testing.T) { testQueueExpiredFinalLeaseDeadLetters(t, setup) })
	t.Run("FailDefaultsAndLongErrors", func(t *testing.T) { testQueueFailDefaultsAndLongErrors(t, setup) })
	t.Run("DeadJobsOrderAndFilter", func(t *testing.T) { testQueueDeadJobsOrderAndFilter(t, setup) })
	t.Run("DeadLetters", func(t *testing.T) { testQueueDeadLetters(t, setup) })
	t.Run("Invalid", func(t *testing.T) { testQueueInvalid(t, setup) })
	t.Run("ConcurrentClaimers", func(t *testing.T) { testQueueConcurrentClaimers(t, setup) })
}
