package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/store"
)

// The holders of the collection tests: two pay page visitors and a staff
// member.
const (
	alice = "cookie:alice"
	bob   = "cookie:bob"
	staff = "staff:carol"
)

// hold is a reservation of amount minor units of USD on invoiceID by
// holder, under key, that expires 30 minutes after now.
func hold(key, holder string, amount int64, now time.Time) stripesync.Reservation {
	return stripesync.Reservation{Key: key, InvoiceID: invoiceID, Amount: usd(amount), Holder: holder,
		ExpiresAt: now.Add(30 * time.Minute)}
}

// reserve reserves r at now and fails the test on an error.
func reserve(t *testing.T, db *store.DB, r stripesync.Reservation, now time.Time) []stripesync.Reservation {
	t.Helper()
	replaced, err := db.Reserve(t.Context(), r, now)
	if err != nil {
		t.Fatalf("Reserve(%s: %s by %s): %v", r.Key, r.Amount, r.Holder, err)
	}
	return replaced
}

// bind binds reservation key to a session and/or PaymentIntent and fails
// the test on an error.
func bind(t *testing.T, db *store.DB, key, sessionID, paymentIntentID string) {
	t.Helper()
	if err := db.BindReservation(t.Context(), key, sessionID, paymentIntentID); err != nil {
		t.Fatalf("BindReservation(%s, %q, %q): %v", key, sessionID, paymentIntentID, err)
	}
}

// refused fails the test unless reserving r at now fails with code and
// the message msg ("" for any message).
func refused(t *testing.T, db *store.DB, r stripesync.Reservation, now time.Time, code stripesync.ErrorCode, msg string) {
	t.Helper()
	replaced, err := db.Reserve(t.Context(), r, now)
	what := fmt.Sprintf("Reserve(%s: %s by %s)", r.Key, r.Amount, r.Holder)
	wantCode(t, what, err, code)
	if msg != "" && stripesync.MessageOf(err) != msg {
		t.Errorf("%s message = %q, want %q", what, stripesync.MessageOf(err), msg)
	}
	if replaced != nil {
		t.Errorf("%s replaced %v on error, want nil", what, replaced)
	}
}

// wantPayable fails the test unless holder's view of invoiceID at now
// shows reserved and payable (minor units of USD).
func wantPayable(t *testing.T, db *store.DB, holder string, now time.Time, reserved, payable int64) {
	t.Helper()
	v, err := db.InvoiceView(t.Context(), invoiceID, holder, now)
	if err != nil {
		t.Fatalf("InvoiceView(%q): %v", holder, err)
	}
	if v.Reserved != usd(reserved) || v.Payable != usd(payable) {
		t.Errorf("InvoiceView(%q): reserved %s, payable %s; want %s, %s", holder, v.Reserved, v.Payable, usd(reserved), usd(payable))
	}
}

func testCollection(t *testing.T, setup setupFunc) {
	// The invoice of most cases: 50.00 USD with 20.00 paid, 30.00 left.
	paid := func(t *testing.T, db *store.DB) {
		t.Helper()
		saveInvoices(t, db, invoice(invoiceID, 5000))
		record(t, db, payment("pi_paid", invoiceID, usd(2000), stripesync.PaymentSucceeded, 0), true)
	}
	// fixture is a subtest's store with that invoice, and the time.
	fixture := func(t *testing.T) (*store.DB, time.Time) {
		t.Helper()
		db, clock := setup(t)
		paid(t, db)
		return db, clock.Now()
	}

	t.Run("FitsOrNot", func(t *testing.T) {
		db, now := fixture(t)
		refused(t, db, hold("k1", alice, 3001, now), now, stripesync.EINVALID, "The amount must be at most 30.00 USD")
		if replaced := reserve(t, db, hold("k1", alice, 2000, now), now); replaced != nil {
			t.Errorf("first Reserve replaced %v, want nil", replaced)
		}
		refused(t, db, hold("k2", bob, 1001, now), now, stripesync.ECONFLICT,
			"Another payment of this invoice is in progress; at most 10.00 USD can be paid now")
		// More than balance − pending is EINVALID even with others holding some.
		refused(t, db, hold("k2", bob, 3001, now), now, stripesync.EINVALID, "The amount must be at most 30.00 USD")
		reserve(t, db, hold("k2", bob, 1000, now), now)
		refused(t, db, hold("k3", staff, 1, now), now, stripesync.ECONFLICT,
			"Another payment of this invoice is in progress; nothing more can be paid now")

		wantPayable(t, db, alice, now, 1000, 2000)
		wantPayable(t, db, bob, now, 2000, 1000)
		wantPayable(t, db, staff, now, 3000, 0)
		wantPayable(t, db, "", now, 3000, 0)
	})

	t.Run("BadInput", func(t *testing.T) {
		db, now := fixture(t)
		r := hold("k1", alice, 1000, now)
		r.InvoiceID = "a0B000000000404AAA"
		refused(t, db, r, now, stripesync.ENOTFOUND, "")
		r = hold("k1", alice, 1000, now)
		r.Amount.Currency = "EUR"
		refused(t, db, r, now, stripesync.EINVALID, "The amount must be in USD, the invoice's currency, not EUR")
		refused(t, db, hold("k1", alice, 0, now), now, stripesync.EINVALID, "The amount must be greater than zero")
		refused(t, db, hold("k1", alice, -100, now), now, stripesync.EINVALID, "The amount must be greater than zero")
		refused(t, db, hold("", alice, 100, now), now, stripesync.EINVALID, "")
		refused(t, db, hold("k1", "", 100, now), now, stripesync.EINVALID, "")
		r = hold("k1", alice, 1000, now)
		r.ExpiresAt = now
		refused(t, db, r, now, stripesync.EINVALID, "")
		// Nothing was stored: the whole balance is still there.
		wantPayable(t, db, "", now, 0, 3000)
		reserve(t, db, hold("k1", alice, 3000, now), now)

		// Lower case is the same currency.
		r = hold("k2", alice, 3000, now)
		r.Amount.Currency = "usd"
		reserve(t, db, r, now)
	})

	t.Run("NotPayable", func(t *testing.T) {
		db, clock := setup(t)
		now := clock.Now()
		void := invoice(invoiceID, 5000)
		void.Status = stripesync.InvoiceVoid
		deleted := invoice("a0B000000000002AAA", 5000)
		deleted.Deleted = true
		saveInvoices(t, db, void, deleted)
		refused(t, db, hold("k1", alice, 100, now), now, stripesync.EINVALID, "Invoice INV-1AAA is Void and cannot be paid")
		wantPayable(t, db, "", now, 0, 0)
		r := hold("k2", alice, 100, now)
		r.InvoiceID = deleted.ID
		refused(t, db, r, now, stripesync.ENOTFOUND, "")
		if _, err := db.InvoiceView(t.Context(), deleted.ID, alice, now); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
			t.Errorf("InvoiceView of a deleted invoice = %v, want ENOTFOUND", err)
		}
	})

	t.Run("SameHolderReplaces", func(t *testing.T) {
		db, now := fixture(t)
		first := hold("k1", alice, 1000, now)
		reserve(t, db, first, now)
		bind(t, db, "k1", "cs_1", "")
		// Alice goes back and changes the amount: her first reservation is
		// replaced, and returned with its session.
		second := hold("k2", alice, 1500, now.Add(time.Second))
		replaced := reserve(t, db, second, now.Add(time.Second))
		first.SessionID = "cs_1"
		first.ExpiresAt = stored(first.ExpiresAt)
		if diff := cmp.Diff([]stripesync.Reservation{first}, replaced); diff != "" {
			t.Errorf("replaced by k2 (-want +got):\n%s", diff)
		}
		bind(t, db, "k2", "cs_2", "pi_2")
		// Then she asks for the whole balance: her own reservation does not
		// stand in her way.
		later := now.Add(2 * time.Second)
		replaced = reserve(t, db, hold("k3", alice, 3000, later), later)
		second.SessionID, second.PaymentIntentID = "cs_2", "pi_2"
		second.ExpiresAt = stored(second.ExpiresAt)
		if diff := cmp.Diff([]stripesync.Reservation{second}, replaced); diff != "" {
			t.Errorf("replaced by k3 (-want +got):\n%s", diff)
		}
		wantUTC(t, "replaced", replaced[0].ExpiresAt)
		wantPayable(t, db, bob, later, 3000, 0)
		wantPayable(t, db, alice, later, 0, 3000)
		// Another holder's reservation is not replaced.
		refused(t, db, hold("k4", bob, 1, later), later, stripesync.ECONFLICT, "")
		if replaced := reserve(t, db, hold("k5", alice, 500, later), later); len(replaced) != 1 || replaced[0].Key != "k3" {
			t.Errorf("Reserve k5 replaced %v, want k3", replaced)
		}
		reserve(t, db, hold("k4", bob, 2500, later), later)
	})

	t.Run("RepeatedKey", func(t *testing.T) {
		db, now := fixture(t)
		r := hold("k1", alice, 3000, now)
		reserve(t, db, r, now)
		// The same submit again, a second later: no change, nothing replaced.
		if replaced := reserve(t, db, r, now.Add(time.Second)); replaced != nil {
			t.Errorf("repeated Reserve replaced %v, want nil", replaced)
		}
		wantPayable(t, db, bob, now, 3000, 0)
		// The key with another amount is someone else's reservation.
		other := r
		other.Amount = usd(100)
		refused(t, db, other, now, stripesync.ECONFLICT, "")
		other = r
		other.Holder = bob
		refused(t, db, other, now, stripesync.ECONFLICT, "")
	})

	t.Run("Expiry", func(t *testing.T) {
		db, now := fixture(t)
		ctx := t.Context()
		reserve(t, db, hold("k1", alice, 3000, now), now) // expires at now+30m
		refused(t, db, hold("k2", bob, 100, now), now, stripesync.ECONFLICT, "")
		almost := now.Add(30*time.Minute - time.Microsecond)
		wantPayable(t, db, bob, almost, 3000, 0)
		refused(t, db, hold("k2", bob, 100, almost), almost, stripesync.ECONFLICT, "")
		expired := now.Add(30 * time.Minute)
		wantPayable(t, db, bob, expired, 0, 3000)
		reserve(t, db, hold("k2", bob, 3000, expired), expired)
		// The expired reservation was deleted by that Reserve.
		if err := db.BindReservation(ctx, "k1", "cs_1", ""); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
			t.Errorf("BindReservation of the expired k1 = %v, want ENOTFOUND", err)
		}
		// An expired key reserved again is a new reservation that must fit.
		refused(t, db, hold("k1", alice, 3000, expired), expired, stripesync.ECONFLICT, "")
	})

	t.Run("PendingACH", func(t *testing.T) {
		db, now := fixture(t)
		ach := payment("pi_ach", invoiceID, usd(1000), stripesync.PaymentProcessing, time.Minute)
		ach.Method = stripesync.MethodACH
		record(t, db, ach, true)
		refused(t, db, hold("k1", alice, 2001, now), now, stripesync.EINVALID, "The amount must be at most 20.00 USD")
		wantPayable(t, db, alice, now, 0, 2000)
		reserve(t, db, hold("k1", alice, 1500, now), now)
		refused(t, db, hold("k2", bob, 501, now), now, stripesync.ECONFLICT,
			"Another payment of this invoice is in progress; at most 5.00 USD can be paid now")
		wantPayable(t, db, bob, now, 1500, 500)
	})

	t.Run("BoundPaymentNotCountedTwice", func(t *testing.T) {
		db, now := fixture(t)
		ctx := t.Context()
		reserve(t, db, hold("k1", alice, 1000, now), now)
		reserve(t, db, hold("k2", bob, 1500, now), now)
		bind(t, db, "k1", "cs_1", "pi_1")
		bind(t, db, "k2", "", "pi_2")
		// Alice's card payment succeeds and Bob's ACH is processing: each is
		// counted once, by the rollup, while their reservations stay.
		record(t, db, payment("pi_1", invoiceID, usd(1000), stripesync.PaymentSucceeded, time.Minute), true)
		ach := payment("pi_2", invoiceID, usd(1500), stripesync.PaymentProcessing, time.Minute)
		ach.Method = stripesync.MethodACH
		record(t, db, ach, true)
		v, err := db.InvoiceView(ctx, invoiceID, staff, now)
		if err != nil {
			t.Fatal(err)
		}
		if v.Rollup.Balance != usd(2000) || v.Rollup.Pending != usd(1500) || v.Reserved != usd(0) || v.Payable != usd(500) {
			t.Errorf("view = balance %s, pending %s, reserved %s, payable %s; want 20.00, 15.00, 0.00, 5.00",
				v.Rollup.Balance, v.Rollup.Pending, v.Reserved, v.Payable)
		}
		refused(t, db, hold("k3", staff, 501, now), now, stripesync.EINVALID, "The amount must be at most 5.00 USD")
		reserve(t, db, hold("k3", staff, 500, now), now)

		// A PaymentIntent of another invoice does not free the reservation.
		saveInvoices(t, db, invoice("a0B000000000002AAA", 9000))
		reserve(t, db, stripesync.Reservation{Key: "k4", InvoiceID: "a0B000000000002AAA", Amount: usd(9000), Holder: alice,
			PaymentIntentID: "pi_1", ExpiresAt: now.Add(time.Hour)}, now)
		r := hold("k5", bob, 1, now)
		r.InvoiceID = "a0B000000000002AAA"
		refused(t, db, r, now, stripesync.ECONFLICT, "")
	})

	t.Run("RecordCharge", func(t *testing.T) {
		db, now := fixture(t)
		ctx := t.Context()
		actions := func() []stripesync.StaffAction {
			t.Helper()
			got, err := db.StaffActions(ctx, invoiceID)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		action := stripesync.StaffAction{Staff: "carol", Action: stripesync.StaffActionPayment, InvoiceID: invoiceID,
			PaymentID: "pi_1", Outcome: "ok", Detail: "10.00 with pm_1", At: now}
		reserve(t, db, hold("k1", staff, 1000, now), now)
		charged := payment("pi_1", invoiceID, usd(1000), stripesync.PaymentSucceeded, time.Minute)
		got, err := db.RecordCharge(ctx, "k1", charged, &action)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != "pi_1" || got.ReceiptNumber == "" {
			t.Errorf("RecordCharge returned %+v, want pi_1 with its receipt number", got)
		}
		if r := rollup(t, db, invoiceID); r.Balance != usd(2000) {
			t.Errorf("balance after the charge = %s, want 20.00 USD", r.Balance)
		}
		// Bound to the recorded payment, the reservation no longer
		// counts, and a repeat of its key finds it.
		wantPayable(t, db, bob, now, 0, 2000)
		if replaced := reserve(t, db, hold("k1", staff, 1000, now), now); replaced != nil {
			t.Errorf("repeated Reserve of k1 replaced %v", replaced)
		}
		if a := actions(); len(a) != 1 || a[0].PaymentID != "pi_1" || a[0].Outcome != "ok" || a[0].Staff != "carol" {
			t.Errorf("audit trail after the charge = %+v, want carol's payment pi_1", a)
		}

		// An invalid action records nothing, not even the payment.
		reserve(t, db, hold("k2", alice, 500, now), now)
		bad := action
		bad.Outcome = ""
		if _, err := db.RecordCharge(ctx, "k2", payment("pi_2", invoiceID, usd(500), stripesync.PaymentSucceeded, time.Minute), &bad); stripesync.CodeOf(err) != stripesync.EINVALID {
			t.Errorf("RecordCharge with an action without outcome = %v, want EINVALID", err)
		}
		if _, err := db.Payment(ctx, "pi_2"); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
			t.Errorf("pi_2 after the refused RecordCharge: %v, want ENOTFOUND", err)
		}
		wantPayable(t, db, bob, now, 500, 1500)
		if _, err := db.RecordCharge(ctx, "", charged, nil); stripesync.CodeOf(err) != stripesync.EINVALID {
			t.Errorf("RecordCharge without a key = %v, want EINVALID", err)
		}

		// A payment the webhook recorded first changes nothing, and the
		// reservation is bound all the same.
		if _, err := db.RecordCharge(ctx, "k2", charged, nil); err != nil {
			t.Fatal(err)
		}
		wantPayable(t, db, bob, now, 0, 2000)
		if r, ok, err := db.ReleaseReservation(ctx, "k2"); err != nil || !ok || r.PaymentIntentID != "pi_1" {
			t.Errorf("k2 = %+v, %v, %v; want bound to pi_1", r, ok, err)
		}
		// A reservation that is gone is no error: the payment counts.
		if _, err := db.RecordCharge(ctx, "gone", payment("pi_3", invoiceID, usd(500), stripesync.PaymentSucceeded, 2*time.Minute), nil); err != nil {
			t.Errorf("RecordCharge of a released reservation: %v", err)
		}
		wantPayable(t, db, bob, now, 0, 1500)
		if a := actions(); len(a) != 1 {
			t.Errorf("audit trail = %+v, want carol's one payment", a)
		}
	})

	t.Run("FailedPaymentReleases", func(t *testing.T) {
		db, now := fixture(t)
		ctx := t.Context()
		reserve(t, db, hold("k1", alice, 1000, now), now)
		reserve(t, db, hold("k2", bob, 2000, now), now)
		for key, pi := range map[string]string{"k1": "pi_1", "k2": "pi_2"} {
			bind(t, db, key, "", pi)
		}
		record(t, db, payment("pi_1", invoiceID, usd(1000), stripesync.PaymentPending, time.Minute), true)
		wantPayable(t, db, staff, now, 3000, 0) // pending (unconfirmed) still holds its reservation
		declined := payment("pi_1", invoiceID, usd(1000), stripesync.PaymentFailed, time.Minute)
		declined.FailureReason = "card_declined"
		canceled := payment("pi_2", invoiceID, usd(2000), stripesync.PaymentCanceled, time.Minute)
		if _, err := db.RecordPayments(ctx, []stripesync.Payment{declined, canceled}); err != nil {
			t.Fatal(err)
		}
		wantPayable(t, db, staff, now, 0, 3000)
		for _, key := range []string{"k1", "k2"} {
			if err := db.BindReservation(ctx, key, "cs_x", ""); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
				t.Errorf("BindReservation(%s) after its payment failed = %v, want ENOTFOUND (released)", key, err)
			}
		}
		reserve(t, db, hold("k3", staff, 3000, now), now)
	})

	t.Run("HoldSession", func(t *testing.T) {
		db, now := fixture(t)
		ctx := t.Context()
		reserve(t, db, hold("k1", alice, 3000, now), now)
		bind(t, db, "k1", "cs_1", "")
		// The session completed unpaid: its bank account waits for the
		// micro-deposits, days after the session's own expiry.
		later := now.Add(10 * 24 * time.Hour)
		if err := db.HoldSession(ctx, "cs_1", "pi_1", later.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		record(t, db, payment("pi_1", invoiceID, usd(3000), stripesync.PaymentPending, time.Minute), true)
		wantPayable(t, db, staff, later, 3000, 0)
		refused(t, db, hold("k2", bob, 3000, later), later, stripesync.ECONFLICT, "")
		// Confirmed: the debit is processing and counts as pending; the
		// hold no longer does.
		ach := payment("pi_1", invoiceID, usd(3000), stripesync.PaymentProcessing, 2*time.Minute)
		ach.Method = stripesync.MethodACH
		record(t, db, ach, true)
		wantPayable(t, db, staff, later, 0, 0)

	})

	t.Run("HoldSessionOfAFailedPayment", func(t *testing.T) {
		db, now := fixture(t)
		ctx := t.Context()
		later := now.Add(10 * 24 * time.Hour)
		// A session whose payment already failed holds nothing.
		reserve(t, db, hold("k3", bob, 1000, now), now)
		bind(t, db, "k3", "cs_3", "")
		record(t, db, payment("pi_3", invoiceID, usd(1000), stripesync.PaymentFailed, time.Minute), true)
		if err := db.HoldSession(ctx, "cs_3", "pi_3", later); err != nil {
			t.Fatal(err)
		}
		if err := db.BindReservation(ctx, "k3", "", "pi_x"); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
			t.Errorf("the reservation of a session whose payment failed survived HoldSession: %v", err)
		}
		if err := db.HoldSession(ctx, "cs_404", "pi_9", later); err != nil {
			t.Errorf("HoldSession(unknown session) = %v, want nil", err)
		}
		wantCode(t, "HoldSession(\"\")", db.HoldSession(ctx, "", "pi_1", later), stripesync.EINVALID)
	})

	t.Run("Release", func(t *testing.T) {
		db, now := fixture(t)
		ctx := t.Context()
		reserve(t, db, hold("k1", alice, 1000, now), now)
		reserve(t, db, hold("k2", bob, 2000, now), now)
		bind(t, db, "k2", "cs_2", "")
		if err := db.BindReservation(ctx, "k404", "cs_2", ""); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
			t.Errorf("BindReservation(unknown) = %v, want ENOTFOUND", err)
		}
		if r, ok, err := db.ReleaseReservation(ctx, "k1"); err != nil || !ok || r.Key != "k1" || r.Holder != alice || r.Amount.Amount != 1000 {
			t.Fatalf("ReleaseReservation(k1) = %+v, %v, %v", r, ok, err)
		}
		wantPayable(t, db, staff, now, 2000, 1000)
		if err := db.ReleaseSession(ctx, "cs_2"); err != nil {
			t.Fatal(err)
		}
		wantPayable(t, db, staff, now, 0, 3000)
		if _, ok, err := db.ReleaseReservation(ctx, "k1"); ok || err != nil {
			t.Errorf("ReleaseReservation(unknown) = %v, %v; want false, nil", ok, err)
		}
		if err := db.ReleaseSession(ctx, "cs_404"); err != nil {
			t.Errorf("ReleaseSession(unknown) = %v, want nil", err)
		}
		wantCode(t, "ReleaseSession(\"\")", db.ReleaseSession(ctx, ""), stripesync.EINVALID)
		_, _, err := db.ReleaseReservation(ctx, "")
		wantCode(t, "ReleaseReservation(\"\")", err, stripesync.EINVALID)
	})

	t.Run("Concurrent", func(t *testing.T) {
		db, _ := setup(t)
		ReserveRace(t, db)
		PayRace(t, db)
	})

	t.Run("InvoiceView", func(t *testing.T) {
		db, clock := setup(t)
		ctx := t.Context()
		now := clock.Now()
		inv := invoice(invoiceID, 5000)
		saveInvoices(t, db, inv)
		p2 := record(t, db, payment("pi_2", invoiceID, usd(1000), stripesync.PaymentSucceeded, 2*time.Hour), true)
		p1 := record(t, db, payment("pi_1", invoiceID, usd(500), stripesync.PaymentFailed, time.Hour), true)
		p3 := record(t, db, payment("pi_3", invoiceID, stripesync.Money{Amount: 700, Currency: "EUR"}, stripesync.PaymentSucceeded, 3*time.Hour), true)
		reserve(t, db, hold("k1", bob, 1200, now), now)
		got, err := db.InvoiceView(ctx, invoiceID, alice, now)
		if err != nil {
			t.Fatal(err)
		}
		want := stripesync.InvoiceView{
			Invoice: stored2(inv),
			Rollup: stripesync.Rollup{Paid: usd(1000), Pending: usd(0), Balance: usd(4000), Credit: usd(0),
				Status: stripesync.InvoicePartiallyPaid, Mismatched: []string{"pi_3"}},
			Payments: []stripesync.Payment{p1, p2, p3},
			Reserved: usd(1200),
			Payable:  usd(2800),
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("InvoiceView (-want +got):\n%s", diff)
		}
		if _, err := db.InvoiceView(ctx, "a0B000000000404AAA", alice, now); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
			t.Errorf("InvoiceView(unknown) = %v, want ENOTFOUND", err)
		}
	})

	t.Run("AccountInvoices", func(t *testing.T) {
		db, clock := setup(t)
		ctx := t.Context()
		now := clock.Now()
		day := 24 * time.Hour
		mk := func(id string, due time.Time) stripesync.Invoice {
			inv := invoice(id, 1000)
			inv.DueDate = due
			return inv
		}
		early, late, undated := mk("a0B000000000001AAA", start.Add(day)), mk("a0B000000000002AAA", start.Add(9*day)),
			mk("a0B000000000003AAA", time.Time{})
		gone := mk("a0B000000000004AAA", start.Add(20*day))
		gone.Deleted = true
		foreign := mk("a0B000000000005AAA", start.Add(5*day))
		foreign.AccountID = "001000000000002AAA"
		saveInvoices(t, db, early, late, undated, gone, foreign)
		p := record(t, db, payment("pi_1", early.ID, usd(400), stripesync.PaymentSucceeded, 0), true)
		reserve(t, db, hold("k1", alice, 600, now), now) // on early: every holder counts

		got, err := db.AccountInvoices(ctx, early.AccountID)
		if err != nil {
			t.Fatal(err)
		}
		open := func(inv stripesync.Invoice) stripesync.InvoiceView {
			return stripesync.InvoiceView{Invoice: stored2(inv), Rollup: stripesync.Rollup{Paid: usd(0), Pending: usd(0),
				Balance: usd(1000), Credit: usd(0), Status: stripesync.InvoiceOpen}, Reserved: usd(0), Payable: usd(1000)}
		}
		want := []stripesync.InvoiceView{open(late), open(early), open(undated)}
		want[1].Rollup.Paid, want[1].Rollup.Balance, want[1].Rollup.Status = usd(400), usd(600), stripesync.InvoicePartiallyPaid
		want[1].Payments, want[1].Reserved, want[1].Payable = []stripesync.Payment{p}, usd(600), usd(0)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("AccountInvoices (-want +got):\n%s", diff)
		}
		if got, err := db.AccountInvoices(ctx, "001000000000404AAA"); err != nil || got != nil {
			t.Errorf("AccountInvoices(unknown) = %v, %v; want nil, nil", got, err)
		}
	})

	t.Run("RevokeLinks", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		if at, err := db.LinksRevokedAt(ctx, invoiceID); err != nil || !at.IsZero() {
			t.Errorf("LinksRevokedAt before any revocation = %v, %v; want zero, nil", at, err)
		}
		first := start.Add(time.Hour + 123*time.Millisecond)
		for _, at := range []time.Time{first, first.Add(time.Millisecond), first.Add(-time.Hour)} {
			if err := db.RevokeLinks(ctx, invoiceID, at); err != nil {
				t.Fatalf("RevokeLinks(%v): %v", at, err)
			}
		}
		at, err := db.LinksRevokedAt(ctx, invoiceID)
		if err != nil {
			t.Fatal(err)
		}
		if want := stored(first.Add(time.Millisecond)); !at.Equal(want) || at.Location() != time.UTC {
			t.Errorf("LinksRevokedAt = %v, want the latest, %v (UTC)", at, want)
		}
		wantCode(t, "RevokeLinks(zero time)", db.RevokeLinks(ctx, invoiceID, time.Time{}), stripesync.EINVALID)
	})

	t.Run("PayerView", func(t *testing.T) {
		db, now := fixture(t)
		ctx := t.Context()
		// wantPayerView checks that PayerView tells what InvoiceView and
		// AccountMethods do, but for the payments, and that PayPage
		// tells what they and LinksRevokedAt do, and returns both.
		wantPayerView := func(what, holder string) (stripesync.PayerView, stripesync.PayPage) {
			t.Helper()
			got, err := db.PayerView(ctx, invoiceID, holder, now)
			if err != nil {
				t.Fatalf("%s: PayerView: %v", what, err)
			}
			page, err := db.PayPage(ctx, invoiceID, holder, now)
			if err != nil {
				t.Fatalf("%s: PayPage: %v", what, err)
			}
			iv, err := db.InvoiceView(ctx, invoiceID, holder, now)
			if err != nil {
				t.Fatal(err)
			}
			customer, methods, at, err := db.AccountMethods(ctx, iv.Invoice.AccountID)
			if err != nil {
				t.Fatal(err)
			}
			revoked, err := db.LinksRevokedAt(ctx, invoiceID)
			if err != nil {
				t.Fatal(err)
			}
			want := stripesync.PayPage{
				PayerView:      stripesync.PayerView{InvoiceView: iv, CustomerID: customer, Methods: methods, MethodsFetched: at},
				LinksRevokedAt: revoked,
			}
			if diff := cmp.Diff(want, page); diff != "" {
				t.Errorf("%s: PayPage (-InvoiceView, AccountMethods and LinksRevokedAt +got):\n%s", what, diff)
			}
			want.Payments = nil
			if diff := cmp.Diff(want.PayerView, got); diff != "" {
				t.Errorf("%s: PayerView (-InvoiceView and AccountMethods +got):\n%s", what, diff)
			}
			return got, page
		}
		reserve(t, db, hold("k1", alice, 1000, now), now)
		reserve(t, db, hold("k2", bob, 500, now), now)
		if v, _ := wantPayerView("an account not in Stripe", alice); v.CustomerID != "" || v.Reserved != usd(500) || v.Payable != usd(2500) {
			t.Errorf("PayerView = customer %q, reserved %s, payable %s; want none, 5.00, 25.00", v.CustomerID, v.Reserved, v.Payable)
		}
		account := invoice(invoiceID, 5000).AccountID
		if err := db.SaveAccountLink(ctx, stripesync.AccountLink{CRMID: account, StripeID: "cus_1",
			Policy: stripesync.PolicyCreate, State: stripesync.LinkBound}); err != nil {
			t.Fatal(err)
		}
		if v, _ := wantPayerView("methods never read", bob); v.CustomerID != "cus_1" || v.Methods != nil || !v.MethodsFetched.IsZero() {
			t.Errorf("PayerView = %q, %v, %v; want cus_1 with no methods, never read", v.CustomerID, v.Methods, v.MethodsFetched)
		}
		card := stripesync.SavedMethod{ID: "pm_card", CustomerID: "cus_1", Type: stripesync.MethodTypeCard, Brand: "visa",
			Last4: "4242", ExpMonth: 12, ExpYear: 2028, Default: true}
		bank := stripesync.SavedMethod{ID: "pm_bank", CustomerID: "cus_1", Type: stripesync.MethodTypeBank, Last4: "6789", BankName: "STRIPE TEST BANK"}
		if err := db.SaveMethods(ctx, "cus_1", []stripesync.SavedMethod{bank, card}, now); err != nil {
			t.Fatal(err)
		}
		if v, _ := wantPayerView("two methods", staff); len(v.Methods) != 2 || v.Reserved != usd(1500) {
			t.Errorf("PayerView = %d methods, reserved %s; want 2, 15.00", len(v.Methods), v.Reserved)
		}
		// The stored rollup counts a payment just recorded.
		record(t, db, payment("pi_2", invoiceID, usd(1000), stripesync.PaymentSucceeded, time.Minute), true)
		if v, _ := wantPayerView("after a payment", staff); v.Rollup.Balance != usd(2000) {
			t.Errorf("PayerView balance = %s, want 20.00", v.Rollup.Balance)
		}
		// The page's payments, in the company of two methods rows (a plain
		// join would multiply them), and a revocation; another invoice's
		// payment is not the page's.
		record(t, db, payment("pi_3", invoiceID, usd(700), stripesync.PaymentProcessing, 2*time.Minute), true)
		other := invoice("a0B000000000009AAA", 5000)
		saveInvoices(t, db, other)
		record(t, db, payment("pi_other", other.ID, usd(300), stripesync.PaymentSucceeded, 3*time.Minute), true)
		if err := db.RevokeLinks(ctx, invoiceID, start.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if _, pg := wantPayerView("payments and a revocation", staff); len(pg.Payments) != 3 || len(pg.Methods) != 2 ||
			pg.Rollup.Pending != usd(700) || pg.LinksRevokedAt.IsZero() {
			t.Errorf("PayPage = %d payments, %d methods, pending %s, revoked %v; want 3, 2, 7.00, a time",
				len(pg.Payments), len(pg.Methods), pg.Rollup.Pending, pg.LinksRevokedAt)
		}
		for what, read := range map[string]func(id string) error{
			"PayerView": func(id string) error { _, err := db.PayerView(ctx, id, staff, now); return err },
			"PayPage":   func(id string) error { _, err := db.PayPage(ctx, id, staff, now); return err },
		} {
			if err := read("a0B000000000404AAA"); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
				t.Errorf("%s of an unknown invoice = %v, want ENOTFOUND", what, err)
			}
		}
		deleted := invoice(invoiceID, 5000)
		deleted.Deleted = true
		saveInvoices(t, db, deleted)
		if _, err := db.PayerView(ctx, invoiceID, staff, now); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
			t.Errorf("PayerView of a deleted invoice = %v, want ENOTFOUND", err)
		}
		if _, err := db.PayPage(ctx, invoiceID, staff, now); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
			t.Errorf("PayPage of a deleted invoice = %v, want ENOTFOUND", err)
		}
	})

	t.Run("SavedMethods", func(t *testing.T) {
		db, _ := setup(t)
		ctx := t.Context()
		// The methods are read by account, through its link to the
		// customer; an account without a bound customer has none.
		for account, customer := range map[string]string{"001A": "cus_1", "001B": "cus_2"} {
			if err := db.SaveAccountLink(ctx, stripesync.AccountLink{CRMID: account, StripeID: customer,
				Policy: stripesync.PolicyCreate, State: stripesync.LinkBound}); err != nil {
				t.Fatal(err)
			}
		}
		savedMethods := func(customer string) ([]stripesync.SavedMethod, time.Time, error) {
			account := map[string]string{"cus_1": "001A", "cus_2": "001B"}[customer]
			got, methods, at, err := db.AccountMethods(ctx, account)
			if err == nil && got != customer {
				t.Fatalf("AccountMethods(%s) names customer %q, want %s", account, got, customer)
			}
			return methods, at, err
		}
		if c, ms, at, err := db.AccountMethods(ctx, "001Unbound"); c != "" || ms != nil || !at.IsZero() || err != nil {
			t.Errorf("AccountMethods(unbound) = %q, %v, %v, %v; want nothing", c, ms, at, err)
		}
		methods, at, err := savedMethods("cus_1")
		if err != nil || methods != nil || !at.IsZero() {
			t.Errorf("SavedMethods(never saved) = %v, %v, %v; want nil, zero, nil", methods, at, err)
		}
		card := stripesync.SavedMethod{ID: "pm_card", CustomerID: "cus_1", Type: stripesync.MethodTypeCard, Brand: "visa",
			Last4: "4242", ExpMonth: 12, ExpYear: 2028, Default: true}
		bank := stripesync.SavedMethod{ID: "pm_bank", Type: stripesync.MethodTypeBank, Last4: "6789", BankName: "STRIPE TEST BANK"}
		check := func(what string, want []stripesync.SavedMethod, wantAt time.Time) {
			t.Helper()
			got, at, err := savedMethods("cus_1")
			if err != nil {
				t.Fatalf("%s: SavedMethods: %v", what, err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: SavedMethods (-want +got):\n%s", what, diff)
			}
			if !at.Equal(stored(wantAt)) || at.Location() != time.UTC {
				t.Errorf("%s: fetched at %v, want %v (UTC)", what, at, stored(wantAt))
			}
		}
		save := func(methods []stripesync.SavedMethod, at time.Time) {
			t.Helper()
			if err := db.SaveMethods(ctx, "cus_1", methods, at); err != nil {
				t.Fatalf("SaveMethods: %v", err)
			}
		}
		t1 := start.Add(time.Minute)
		save([]stripesync.SavedMethod{bank, card}, t1)
		bankRead := bank
		bankRead.CustomerID = "cus_1"
		check("after the first save", []stripesync.SavedMethod{bankRead, card}, t1)
		if err := db.SaveMethods(ctx, "cus_2", []stripesync.SavedMethod{card}, t1); stripesync.CodeOf(err) != stripesync.EINVALID {
			t.Errorf("SaveMethods of cus_1's method under cus_2 = %v, want EINVALID", err)
		}
		t2 := t1.Add(time.Minute)
		save([]stripesync.SavedMethod{card}, t2)
		check("after replacing", []stripesync.SavedMethod{card}, t2)
		save([]stripesync.SavedMethod{bank}, t1) // a stale read finishing late
		check("after a stale save", []stripesync.SavedMethod{card}, t2)
		t3 := t2.Add(time.Minute)
		save(nil, t3)
		check("after the last one was detached", nil, t3)
		if got, _, _ := savedMethods("cus_2"); got != nil {
			t.Errorf("SavedMethods(cus_2) = %v, want nil: the refused save stored nothing", got)
		}
		t4 := t3.Add(time.Minute)
		save([]stripesync.SavedMethod{card}, t4)
		if err := db.StaleMethods(ctx, "cus_1"); err != nil {
			t.Fatalf("StaleMethods: %v", err)
		}
		got, at, err := savedMethods("cus_1")
		if err != nil || !cmp.Equal(got, []stripesync.SavedMethod{card}) || at.IsZero() || !at.Before(start) {
			t.Errorf("SavedMethods after StaleMethods = %v, %v, %v; want the card, read long ago", got, at, err)
		}
		save(nil, t4) // a refresh after the mark replaces the copy
		check("after a refresh of the stale copy", nil, t4)
		if err := db.StaleMethods(ctx, "cus_3"); err != nil {
			t.Errorf("StaleMethods(never saved) = %v, want nil", err)
		}
		wantCode(t, "StaleMethods(no customer)", db.StaleMethods(ctx, ""), stripesync.EINVALID)
	})
}

// stored2 is inv as the store gives it back.
func stored2(inv stripesync.Invoice) stripesync.Invoice {
	inv.DueDate, inv.ModStamp = stored(inv.DueDate), stored(inv.ModStamp)
	return inv
}

// ReserveRace saves an invoice of 30.00 USD through dbs[0], then has 12
// goroutines, spread over dbs (pools on one database, as replicas would
// be), each try to reserve the whole balance for a holder of its own at
// once: exactly one may succeed, and every other must be refused with
// ECONFLICT.
func ReserveRace(t *testing.T, dbs ...*store.DB) {
	t.Helper()
	saveInvoices(t, dbs[0], invoice(invoiceID, 3000))
	now := start
	const goroutines = 12
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		won      []string
		ready    = make(chan struct{})
		failures []error
	)
	for g := range goroutines {
		db := dbs[g%len(dbs)]
		wg.Go(func() {
			<-ready
			holder := fmt.Sprintf("cookie:%02d", g)
			_, err := db.Reserve(t.Context(), hold("key-"+holder, holder, 3000, now), now)
			mu.Lock()
			defer mu.Unlock()
			switch stripesync.CodeOf(err) {
			case "":
				won = append(won, holder)
			case stripesync.ECONFLICT:
			default:
				failures = append(failures, err)
			}
		})
	}
	close(ready)
	wg.Wait()
	for _, err := range failures {
		t.Errorf("Reserve failed with %v, want success or ECONFLICT", err)
	}
	if len(won) != 1 {
		t.Errorf("%d reservations of the whole balance succeeded (%v), want exactly 1", len(won), won)
	}
	for i, db := range dbs {
		v, err := db.InvoiceView(t.Context(), invoiceID, "", now)
		if err != nil {
			t.Fatal(err)
		}
		if v.Reserved != usd(3000) || v.Payable != usd(0) {
			t.Errorf("pool %d: after the race reserved %s, payable %s; want 30.00, 0.00", i, v.Reserved, v.Payable)
		}
	}
}

// PayRace is the money invariant end to end: an invoice of 30.00 USD,
// saved through dbs[0], and 8 payers spread over dbs who each, until the
// invoice is paid, reserve 10.00, bind the reservation to a PaymentIntent
// and record it, one in three as declined. The invoice must end paid
// exactly, by three succeeded payments, and no call may fail but with the
// refusals Reserve is meant to give (no deadlock between Reserve and
// RecordPayments).
func PayRace(t *testing.T, dbs ...*store.DB) {
	t.Helper()
	const id, payers, attempts = "a0B000000000009AAA", 8, 2000
	saveInvoices(t, dbs[0], invoice(id, 3000))
	now := start
	var wg sync.WaitGroup
	for g := range payers {
		db := dbs[g%len(dbs)]
		wg.Go(func() {
			ctx := t.Context()
			holder := fmt.Sprintf("cookie:%02d", g)
			for n := range attempts {
				key := fmt.Sprintf("%s-%d", holder, n)
				r := stripesync.Reservation{Key: key, InvoiceID: id, Amount: usd(1000), Holder: holder, ExpiresAt: now.Add(time.Hour)}
				_, err := db.Reserve(ctx, r, now)
				switch stripesync.CodeOf(err) {
				case stripesync.ECONFLICT:
					continue
				case stripesync.EINVALID: // paid: nothing left
					return
				case "":
				default:
					t.Errorf("payer %d: Reserve: %v", g, err)
					return
				}
				pi := "pi_" + key
				if err := db.BindReservation(ctx, key, "", pi); err != nil {
					t.Errorf("payer %d: BindReservation: %v", g, err)
					return
				}
				status := stripesync.PaymentSucceeded
				if n%3 == g%3 {
					status = stripesync.PaymentFailed
				}
				if _, _, err := db.RecordPayment(ctx, payment(pi, id, usd(1000), status, time.Duration(n)*time.Second)); err != nil {
					t.Errorf("payer %d: RecordPayment: %v", g, err)
					return
				}
			}
			t.Errorf("payer %d: the invoice is not paid after %d attempts", g, attempts)
		})
	}
	wg.Wait()
	ps, err := dbs[0].Payments(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	succeeded := 0
	for _, p := range ps {
		if p.Status == stripesync.PaymentSucceeded {
			succeeded++
		}
	}
	if r := rollup(t, dbs[0], id); succeeded != 3 || r.Paid != usd(3000) || r.Credit != usd(0) {
		t.Errorf("after the race: %d succeeded payments, paid %s, credit %s; want 3, 30.00 and 0.00", succeeded, r.Paid, r.Credit)
	}
}
