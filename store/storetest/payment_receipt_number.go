package storetest

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/store"
)

// testPaymentsReceiptNumbersSequentialAndOnce: a payment draws its receipt
// number on its first success and keeps it across refunds and retries, and
// its receipt is queued once.
func testPaymentsReceiptNumbersSequentialAndOnce(t *testing.T, setup setupFunc) {
	db, _ := setup(t)
	ctx := t.Context()
	a := payment("pi_a", invoiceID, usd(1000), stripesync.PaymentProcessing, 0)
	if got := record(t, db, a, true); got.ReceiptNumber != "" {
		t.Errorf("a processing payment got receipt %q", got.ReceiptNumber)
	}
	a.Status = stripesync.PaymentSucceeded
	if got := record(t, db, a, true); got.ReceiptNumber != "R-000001" {
		t.Errorf("first success: receipt %q, want R-000001", got.ReceiptNumber)
	}
	record(t, db, a, false) // the same success again
	a.Refunded = 1000
	if got := record(t, db, a, true); got.ReceiptNumber != "R-000001" {
		t.Errorf("after a refund: receipt %q, want R-000001 kept", got.ReceiptNumber)
	}
	b := payment("pi_b", invoiceID, usd(1000), stripesync.PaymentSucceeded, time.Hour)
	if got := record(t, db, b, true); got.ReceiptNumber != "R-000002" {
		t.Errorf("second payment's success: receipt %q, want R-000002", got.ReceiptNumber)
	}
	_, keys := takeJobs(t, db, stripesync.JobSendReceipt)
	if diff := cmp.Diff([]string{"pi_a", "pi_b"}, keys); diff != "" {
		t.Errorf("receipt jobs' keys (-want +got):\n%s", diff)
	}
	// A later success of a new attempt keeps the first number, and
	// the receipt is not sent again.
	failed := b
	failed.Status, failed.ChargeID, failed.ChargeCreated = stripesync.PaymentFailed, "ch_b2", b.ChargeCreated.Add(time.Hour)
	record(t, db, failed, true)
	again := failed
	again.Status, again.ChargeID, again.ChargeCreated = stripesync.PaymentSucceeded, "ch_b3", failed.ChargeCreated.Add(time.Hour)
	if got := record(t, db, again, true); got.ReceiptNumber != "R-000002" {
		t.Errorf("success after a failed retry: receipt %q, want R-000002 kept", got.ReceiptNumber)
	}
	if _, keys := takeJobs(t, db, stripesync.JobSendReceipt); len(keys) != 0 {
		t.Errorf("receipt jobs after re-success = %v, want none", keys)
	}
	got, err := db.PaymentByReceiptNumber(ctx, "R-000002")
	if err != nil || got.ID != "pi_b" {
		t.Errorf("PaymentByReceiptNumber(R-000002) = %s, %v; want pi_b", got.ID, err)
	}
}

// testPaymentsReceiptNumbersHaveNoGaps: concurrent first successes, and on
// Postgres some whose transaction fails after its number was drawn (a NUL
// byte, which Postgres text refuses, in the method detail): the numbers that
// reach the ledger are 1…n with none missing.
func testPaymentsReceiptNumbersHaveNoGaps(t *testing.T, setup setupFunc) {
	db, _ := setup(t)
	ctx := t.Context()
	const payments, workers = 40, 8
	forceRollback := db.Dialect() == store.DialectPostgres
	var wg sync.WaitGroup
	var next atomic.Int64
	var failed atomic.Int64
	for range workers {
		wg.Go(func() {
			for i := next.Add(1); i <= payments; i = next.Add(1) {
				p := payment(fmt.Sprintf("pi_gap_%02d", i), invoiceID, usd(100), stripesync.PaymentSucceeded, time.Duration(i)*time.Second)
				doomed := forceRollback && i%5 == 0
				if doomed {
					p.MethodDetail = "Visa \x00 4242"
				}
				_, _, err := db.RecordPayment(ctx, p)
				switch {
				case doomed && err == nil:
					t.Errorf("payment %d with a NUL byte was recorded; the test needs it refused", i)
				case doomed:
					failed.Add(1)
				case err != nil:
					t.Errorf("RecordPayment %d: %v", i, err)
				}
			}
		})
	}
	wg.Wait()
	var numbers []string
	for i := 1; i <= payments; i++ {
		p, err := db.Payment(ctx, fmt.Sprintf("pi_gap_%02d", i))
		if stripesync.CodeOf(err) == stripesync.ENOTFOUND {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		numbers = append(numbers, p.ReceiptNumber)
	}
	slices.Sort(numbers)
	want := make([]string, payments-int(failed.Load()))
	for i := range want {
		want[i] = fmt.Sprintf("R-%06d", i+1)
	}
	if diff := cmp.Diff(want, numbers); diff != "" {
		t.Errorf("receipt numbers after %d concurrent successes, %d rolled back (-want +got):\n%s", payments, failed.Load(), diff)
	}
	if forceRollback && failed.Load() == 0 {
		t.Error("no transaction was rolled back; the gaps were not tested")
	}
}
