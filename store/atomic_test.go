package store_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/store"
	"github.com/stripesync/stripesync/store/storetest"
)

// These tests need the database underneath the store (to make it refuse a
// write, or to reopen it), so they open their own rather than go through
// storetest.Run. Each runs on both dialects.

// dialects lists the databases to run on; each returns a URL for store.Open
// and a raw connection to the same database.
var dialects = map[string]func(t *testing.T) (string, *sql.DB){
	store.DialectSQLite: func(t *testing.T) (string, *sql.DB) {
		path := filepath.Join(t.TempDir(), "stripesync.db")
		return "sqlite:" + path, rawDB(t, "sqlite", path+"?_busy_timeout=10000")
	},
	store.DialectPostgres: func(t *testing.T) (string, *sql.DB) {
		url := storetest.PostgresURL(t)
		return url, rawDB(t, "postgres", url)
	},
}

func rawDB(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

func openMigrated(t *testing.T, url string) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), url, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return db
}

// refuseInvoiceJobs makes the database itself reject every JobCRMInvoice
// insert, the last write of the transactions under test.
var refuseInvoiceJobs = map[string][]string{
	store.DialectSQLite: {
		"CREATE TRIGGER refuse_invoice_jobs BEFORE INSERT ON jobs WHEN NEW.kind = 'crm.invoice'" +
			" BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
	},
	store.DialectPostgres: {
		"CREATE FUNCTION refuse_job() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$",
		"CREATE TRIGGER refuse_invoice_jobs BEFORE INSERT ON jobs FOR EACH ROW WHEN (NEW.kind = 'crm.invoice') EXECUTE FUNCTION refuse_job()",
	},
}

// TestJobsCommitWithTheLedgerChange: when the transaction that records a
// payment or saves invoices fails at its last write, none of its writes
// stay: no payment, no rollup, no receipt number, and none of the jobs
// already inserted.
func TestJobsCommitWithTheLedgerChange(t *testing.T) {
	t.Parallel()
	for dialect, open := range dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			url, raw := open(t)
			db := openMigrated(t, url)
			ctx := t.Context()
			const inv = "a0B000000000001AAA"
			total := stripesync.Money{Amount: 10000, Currency: "USD"}
			unpaid := stripesync.Invoice{ID: inv, Total: total, Status: stripesync.InvoiceOpen, AmountPaid: stripesync.Money{Currency: "USD"}}
			if err := db.SaveInvoices(ctx, []stripesync.Invoice{unpaid}); err != nil {
				t.Fatal(err)
			}
			for _, stmt := range refuseInvoiceJobs[dialect] {
				if _, err := raw.ExecContext(ctx, stmt); err != nil {
					t.Fatalf("%s: %v", stmt, err)
				}
			}
			p := stripesync.Payment{ID: "pi_1", InvoiceID: inv, Amount: stripesync.Money{Amount: 2500, Currency: "USD"},
				Status: stripesync.PaymentSucceeded, Created: time.Now(), ChargeID: "ch_1", ChargeCreated: time.Now()}
			if _, _, err := db.RecordPayment(ctx, p); err == nil {
				t.Fatal("RecordPayment succeeded although its JobCRMInvoice was refused")
			}
			if _, err := db.Payment(ctx, "pi_1"); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
				t.Errorf("Payment after the failed transaction = %v, want ENOTFOUND", err)
			}
			if _, r, err := db.Invoice(ctx, inv); err != nil || r.Paid.Amount != 0 || r.Status != stripesync.InvoiceOpen {
				t.Errorf("rollup after the failed transaction = %+v, %v; want nothing paid", r, err)
			}
			if _, err := db.PaymentByReceiptNumber(ctx, "R-000001"); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
				t.Errorf("a receipt number survived the failed transaction: %v", err)
			}

			behind := unpaid
			behind.AmountPaid.Amount = 999 // differs from the rollup: a JobCRMInvoice is due
			other := stripesync.Invoice{ID: "a0B000000000002AAA", Total: total}
			if err := db.SaveInvoices(ctx, []stripesync.Invoice{other, behind}); err == nil {
				t.Fatal("SaveInvoices succeeded although its JobCRMInvoice was refused")
			}
			if _, _, err := db.Invoice(ctx, other.ID); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
				t.Errorf("an invoice of the failed SaveInvoices was stored: %v", err)
			}
			for _, kind := range []string{stripesync.JobCRMPayment, stripesync.JobCRMInvoice, stripesync.JobSendReceipt} {
				if jobs, err := db.Claim(ctx, kind, 10, time.Minute); err != nil || len(jobs) != 0 {
					t.Errorf("%s jobs after the failed transactions = %+v, %v; want none", kind, jobs, err)
				}
			}

			// Without the refusal the same calls commit everything.
			if _, err := raw.ExecContext(ctx, "DROP TRIGGER refuse_invoice_jobs"+map[string]string{store.DialectPostgres: " ON jobs"}[dialect]); err != nil {
				t.Fatal(err)
			}
			if _, changed, err := db.RecordPayment(ctx, p); err != nil || !changed {
				t.Fatalf("RecordPayment = %v, %v; want changed", changed, err)
			}
			for _, kind := range []string{stripesync.JobCRMPayment, stripesync.JobCRMInvoice, stripesync.JobSendReceipt} {
				if jobs, err := db.Claim(ctx, kind, 10, time.Minute); err != nil || len(jobs) != 1 {
					t.Errorf("%s jobs after the payment = %d, %v; want 1", kind, len(jobs), err)
				}
			}
		})
	}
}

// TestCloseLosesNoAcceptedEvent closes the store while 32 senders are
// accepting events: every call either fails (EUNAVAILABLE once closed) or
// its event is in the database when it is opened again.
func TestCloseLosesNoAcceptedEvent(t *testing.T) {
	t.Parallel()
	for dialect, open := range dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			url, _ := open(t)
			db, err := store.Open(t.Context(), url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			const senders, perSender = 32, 40
			var (
				acked   sync.Map
				calls   atomic.Int64
				wg      sync.WaitGroup
				closing = make(chan struct{})
			)
			for s := range senders {
				wg.Go(func() {
					for i := range perSender {
						id := fmt.Sprintf("evt_%02d_%02d", s, i)
						inserted, err := db.AcceptEvent(t.Context(), stripesync.Event{ID: id, Type: "charge.succeeded", Created: time.Now()})
						switch {
						case err == nil && inserted:
							acked.Store(id, true)
						case err == nil:
							t.Errorf("AcceptEvent(%s) = false, want a new event", id)
						case stripesync.CodeOf(err) != stripesync.EUNAVAILABLE:
							t.Errorf("AcceptEvent(%s) during Close = %v, want EUNAVAILABLE", id, err)
						}
						if calls.Add(1) == senders*perSender/4 {
							close(closing)
						}
					}
				})
			}
			<-closing
			if err := db.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			wg.Wait()

			reopened := openMigrated(t, url)
			n := 0
			acked.Range(func(id, _ any) bool {
				n++
				again, err := reopened.AcceptEvent(t.Context(), stripesync.Event{ID: id.(string), Type: "charge.succeeded", Created: time.Now()})
				if err != nil || again {
					t.Errorf("event %s was acknowledged before Close but is not stored (AcceptEvent again = %v, %v)", id, again, err)
				}
				return true
			})
			if n < senders*perSender/4 {
				t.Errorf("only %d events acknowledged before Close, want at least %d", n, senders*perSender/4)
			}
		})
	}
}
