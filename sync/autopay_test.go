package sync_test

import (
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/store/storetest"
	syncer "github.com/stripesync/stripesync/sync"
)

// TestAutoPayRetriesOnItsSchedule declines an auto-pay twice for
// insufficient funds on the default schedule (1d, 3d, 7d after the first
// attempt): tried on day 0, day 1 and day 3, paid on day 3, and never in
// between; one payment, the failure resolved.
func TestAutoPayRetriesOnItsSchedule(t *testing.T) {
	clock := storetest.NewClock(time.Date(2026, 12, 3, 6, 0, 0, 0, time.UTC))
	f := newAutoPayFixture(t, 1, 1000, clock.Now)
	if err := f.st.DeclineNext(f.methods[0], 2, "insufficient_funds"); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	run := func(day string, want string) {
		t.Helper()
		r, err := f.engine.AutoPay(ctx, false)
		if err != nil {
			t.Fatalf("%s: %v", day, err)
		}
		if len(r.Results) != 1 || r.Results[0].Action != want {
			t.Errorf("%s: %+v, want %q", day, r.Results, want)
		}
	}
	run("day 0", syncer.AutoPayRetrying)
	clock.Advance(12 * time.Hour)
	run("day 0, evening", syncer.AutoPaySkipped)
	clock.Advance(12 * time.Hour)
	run("day 1", syncer.AutoPayRetrying)
	clock.Advance(24 * time.Hour)
	run("day 2", syncer.AutoPaySkipped)
	clock.Advance(24 * time.Hour)
	run("day 3", syncer.AutoPayCharged)
	clock.Advance(24 * time.Hour)
	if r, _ := f.engine.AutoPay(ctx, false); len(r.Results) != 0 {
		t.Errorf("day 4, the invoice paid: %+v", r.Results)
	}
	var succeeded int
	for _, pi := range f.st.PaymentIntents() {
		if pi.Status == "succeeded" {
			succeeded++
		}
	}
	if n := len(f.st.PaymentIntents()); n != 3 || succeeded != 1 {
		t.Errorf("%d PaymentIntents, %d succeeded; want the 3 attempts and one payment", n, succeeded)
	}
	entry, err := f.db.FailureByKey(ctx, stripesync.AutoPayFailureKey(f.invoices[0], time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)))
	if err != nil || entry.Status != stripesync.FailureResolved || entry.Occurrences != 2 || entry.Code != "insufficient_funds" ||
		entry.Amount != (stripesync.Money{Amount: 1000, Currency: "USD"}) {
		t.Errorf("the auto-pay failure: %+v, %v; want resolved after two declines of 10.00 USD", entry, err)
	}
}
