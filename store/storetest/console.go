package storetest

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
)

// testSearchInvoices checks the staff console's invoice search: what
// matches, in which order, and what is refused.
func testSearchInvoices(t *testing.T, setup setupFunc) {
	db, _ := setup(t)
	ctx := t.Context()
	const (
		acme   = "001000000000001AAA" // "Acme Corp"
		pure   = "001000000000002AAA" // "100% Pure", with a LIKE wildcard in its name
		nobody = "001000000000003AAA" // no contact in the ledger
		mixed  = "a0B5g00000AbCdEIAW" // an id whose 15-character form has both cases
	)
	if err := db.SaveAccountContacts(ctx, []stripesync.Account{{ID: acme, Name: "Acme Corp"}, {ID: pure, Name: "100% Pure"}}); err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	inv := func(id, number, account string, due time.Duration) stripesync.Invoice {
		i := invoice(id, 10000)
		i.Number, i.AccountID = number, account
		i.DueDate = start.Add(due)
		if due == 0 {
			i.DueDate = time.Time{}
		}
		return i
	}
	deleted := inv("a0B000000000003AAA", "INV-1003", acme, 25*day)
	deleted.Deleted = true
	saveInvoices(t, db,
		inv(mixed, "INV-1001", acme, 5*day),
		inv("a0B000000000002AAA", "INV-1002", acme, 20*day),
		deleted,
		inv("a0B000000000004AAA", "INV-10010", pure, 20*day), // the same due date as INV-1002: by number
		inv("a0B000000000005AAA", "INV_4001", pure, day),
		inv("a0B000000000006AAA", "INV-2001", nobody, 0),
	)
	// A payment, so that the rollup's balance and status differ from the
	// invoice's total and CRM status.
	record(t, db, payment("pi_1", mixed, usd(2500), stripesync.PaymentSucceeded, time.Minute), true)

	search := func(query string, limit int) []string {
		t.Helper()
		got, err := db.SearchInvoices(ctx, query, limit)
		if err != nil {
			t.Fatalf("SearchInvoices(%q, %d): %v", query, limit, err)
		}
		numbers := []string{}
		for _, m := range got {
			numbers = append(numbers, m.Number)
		}
		return numbers
	}
	for _, tc := range []struct {
		what, query string
		limit       int
		want        []string
	}{
		{"a number's prefix, in any case: due date newest first, then number; not the deleted one", "inv-100", 10,
			[]string{"INV-10010", "INV-1002", "INV-1001"}},
		{"the limit", "inv-100", 2, []string{"INV-10010", "INV-1002"}},
		{"every invoice: none without a due date last", "INV", 10,
			[]string{"INV-10010", "INV-1002", "INV-1001", "INV_4001", "INV-2001"}},
		{"a whole number first, then those that contain it", "INV-1001", 10, []string{"INV-1001", "INV-10010"}},
		{"an account name in another case", "acme", 10, []string{"INV-1002", "INV-1001"}},
		{"an account name in upper case", "ACME CORP", 10, []string{"INV-1002", "INV-1001"}},
		{"a percent sign is no wildcard", "0%", 10, []string{"INV-10010", "INV_4001"}},
		{"an underscore is no wildcard", "_", 10, []string{"INV_4001"}},
		{"a backslash is no escape", `\`, 10, []string{}},
		{"a trimmed query", "  INV-2001\t", 10, []string{"INV-2001"}},
		{"an invoice id", "a0B000000000006AAA", 10, []string{"INV-2001"}},
		{"an account id without a contact", nobody, 10, []string{"INV-2001"}},
		{"a 15-character invoice id", mixed[:15], 10, []string{"INV-1001"}},
		{"a 15-character id keeps its case", "a0b5g00000abcde", 10, []string{}},
		{"a 15-character account id", acme[:15], 10, []string{"INV-1002", "INV-1001"}},
		{"an id is matched whole", mixed[:10], 10, []string{}},
	} {
		if diff := cmp.Diff(tc.want, search(tc.query, tc.limit)); diff != "" {
			t.Errorf("%s: SearchInvoices(%q, %d) (-want +got):\n%s", tc.what, tc.query, tc.limit, diff)
		}
	}

	got, err := db.SearchInvoices(ctx, "INV-1001", 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("SearchInvoices(INV-1001, 1) = %+v, %v", got, err)
	}
	want := stripesync.InvoiceMatch{
		ID: mixed, Number: "INV-1001", AccountID: acme, AccountName: "Acme Corp", Total: usd(10000),
		Balance: usd(7500), Status: stripesync.InvoicePartiallyPaid, DueDate: stored(start.Add(5 * day)),
	}
	if diff := cmp.Diff(want, got[0]); diff != "" {
		t.Errorf("INV-1001 (-want +got):\n%s", diff)
	}
	wantUTC(t, "INV-1001's due date", got[0].DueDate)
	if got, err := db.SearchInvoices(ctx, "INV-2001", 1); err != nil || len(got) != 1 || got[0].AccountName != "" || !got[0].DueDate.IsZero() {
		t.Errorf("INV-2001 = %+v, %v; want no account name and no due date", got, err)
	}

	for _, tc := range []struct {
		query string
		limit int
	}{{"", 10}, {" \t ", 10}, {"INV", 0}, {"INV", -1}} {
		_, err := db.SearchInvoices(ctx, tc.query, tc.limit)
		wantCode(t, "SearchInvoices("+tc.query+")", err, stripesync.EINVALID)
	}
}

// testPendingVerifications checks that an invoice lists only the bank
// payments whose account still waits for its micro-deposits.
func testPendingVerifications(t *testing.T, setup setupFunc) {
	db, clock := setup(t)
	ctx := t.Context()
	const other = "a0B000000000002AAA"
	saveInvoices(t, db, invoice(invoiceID, 10000), invoice(other, 10000))
	bank := func(id, inv string, status stripesync.PaymentStatus) stripesync.Payment {
		p := payment(id, inv, usd(1000), status, time.Minute)
		p.Method, p.MethodDetail, p.Channel = stripesync.MethodACH, "STRIPE TEST BANK •••• 6789", stripesync.ChannelPhone
		p.ChargeID, p.ChargeCreated = "", time.Time{}
		return p
	}
	await := func(pm, pi, inv string, at time.Time) stripesync.PendingVerification {
		t.Helper()
		v := stripesync.PendingVerification{PaymentMethodID: pm, PaymentIntentID: pi, InvoiceID: inv, Created: at}
		if err := db.AwaitVerification(ctx, v); err != nil {
			t.Fatal(err)
		}
		v.Created = stored(at)
		return v
	}
	if got, err := db.PendingVerifications(ctx, invoiceID); err != nil || len(got) != 0 {
		t.Fatalf("PendingVerifications before any = %+v, %v; want none", got, err)
	}

	now := clock.Now()
	record(t, db, bank("pi_later", invoiceID, stripesync.PaymentAwaitingVerification), true)
	later := await("pm_later", "pi_later", invoiceID, now.Add(time.Hour))
	record(t, db, bank("pi_first", invoiceID, stripesync.PaymentAwaitingVerification), true)
	first := await("pm_first", "pi_first", invoiceID, now)
	// Verified since: its debit is under way.
	record(t, db, bank("pi_verified", invoiceID, stripesync.PaymentAwaitingVerification), true)
	await("pm_verified", "pi_verified", invoiceID, now.Add(-time.Hour))
	record(t, db, bank("pi_verified", invoiceID, stripesync.PaymentProcessing), true)
	// Wrong deposits, three times: it failed.
	record(t, db, bank("pi_failed", invoiceID, stripesync.PaymentAwaitingVerification), true)
	await("pm_failed", "pi_failed", invoiceID, now.Add(-time.Minute))
	record(t, db, bank("pi_failed", invoiceID, stripesync.PaymentFailed), true)
	// Another invoice's.
	record(t, db, bank("pi_other", other, stripesync.PaymentAwaitingVerification), true)
	await("pm_other", "pi_other", other, now)
	// A row whose payment the ledger does not hold: staff's bank payment
	// never writes one, so it is not listed.
	await("pm_unrecorded", "pi_unrecorded", invoiceID, now)

	got, err := db.PendingVerifications(ctx, invoiceID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]stripesync.PendingVerification{first, later}, got); diff != "" {
		t.Errorf("PendingVerifications(%s) (-want +got):\n%s", invoiceID, diff)
	}
	for _, v := range got {
		wantUTC(t, "PendingVerifications "+v.PaymentMethodID, v.Created)
	}
	if got, err := db.PendingVerifications(ctx, "a0B000000000009AAA"); err != nil || len(got) != 0 {
		t.Errorf("PendingVerifications of an invoice without any = %+v, %v; want none", got, err)
	}
	_, err = db.PendingVerifications(ctx, "")
	wantCode(t, "PendingVerifications without an invoice", err, stripesync.EINVALID)
}
