package sync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/stripesync/stripesync"
)

// DriftKind names one kind of disagreement between Stripe, the ledger and
// the CRM. The names are stable: they are the JSON output's kinds and the
// stripesync_reconcile_drift metric's label values.
type DriftKind string

// The drift kinds, in the order reconcile looks for them.
const (
	// Stripe ↔ ledger, per PaymentIntent.
	DriftPaymentMissing  DriftKind = "payment_missing"  // in Stripe, not in the ledger
	DriftPaymentStatus   DriftKind = "payment_status"   // the ledger's status differs from Stripe's
	DriftPaymentAmount   DriftKind = "payment_amount"   // the ledger's amount or currency differs
	DriftPaymentRefunded DriftKind = "payment_refunded" // refunded amount or dispute differs
	// Ledger ↔ CRM.
	DriftCRMPaymentMissing DriftKind = "crm_payment_missing" // no Payment__c for a ledger payment
	DriftCRMPayment        DriftKind = "crm_payment"         // Payment__c amount, refunded or status differs
	DriftCRMPaymentUnknown DriftKind = "crm_payment_unknown" // a Payment__c names a PaymentIntent the ledger does not hold
	DriftCRMInvoiceRollup  DriftKind = "crm_invoice_rollup"  // Amount_Paid__c, Balance_Due__c or Status__c differs
	// Stripe customers ↔ account links.
	DriftCustomerUnlinked    DriftKind = "customer_unlinked"     // a customer names an account that has no link
	DriftCustomerDuplicate   DriftKind = "customer_duplicate"    // a second customer names one account
	DriftCustomerLinkedTwice DriftKind = "customer_linked_twice" // two accounts' links name one customer (one item per customer)
	DriftLinkCustomerMissing DriftKind = "link_customer_missing" // a bound link names a deleted or missing customer
	// CRM accounts ↔ account links.
	DriftCRMCustomerID DriftKind = "crm_customer_id" // Stripe_Customer_Id__c differs from the link
)

// DriftKinds lists every kind, so that a report (and the metric) shows a
// zero for a kind that found nothing.
var DriftKinds = []DriftKind{
	DriftPaymentMissing, DriftPaymentStatus, DriftPaymentAmount, DriftPaymentRefunded,
	DriftCRMPaymentMissing, DriftCRMPayment, DriftCRMPaymentUnknown, DriftCRMInvoiceRollup,
	DriftCustomerUnlinked, DriftCustomerDuplicate, DriftCustomerLinkedTwice, DriftLinkCustomerMissing,
	DriftCRMCustomerID,
}

// Drift is one disagreement found by reconcile.
type Drift struct {
	Kind   DriftKind `json:"kind"`
	ID     string    `json:"id"`     // the object it is about: pi_…, cus_…, a CRM id
	Detail string    `json:"detail"` // what differs, for a person
	// Repaired is set when --repair fixed it; drift that needs a person
	// (a duplicate customer, a customer two accounts claim) never is.
	Repaired bool `json:"repaired"`
}

// ReconcileStripe is what reconcile lists from Stripe. Implemented by
// stripeclient.Client: one request per page of 100.
type ReconcileStripe interface {
	PaymentIntentPages(ctx context.Context, since time.Time) iter.Seq2[[]stripesync.Payment, error]
	CustomerPages(ctx context.Context) iter.Seq2[[]stripesync.CustomerState, error]
}

// ReconcileCRM is what reconcile reads from the CRM besides accounts.
// Implemented by crm.Client: query pages only.
type ReconcileCRM interface {
	PaymentRecords(ctx context.Context, stripeIDs []string) (map[string]stripesync.CRMPayment, error)
	PaymentStripeIDs(ctx context.Context, since time.Time) iter.Seq2[string, error]
	InvoiceRollups(ctx context.Context, since time.Time) iter.Seq2[stripesync.CRMInvoice, error]
}

// ReconcileLedger is what reconcile reads from the ledger besides
// payments and links by id. Implemented by store.DB.
type ReconcileLedger interface {
	InvoiceRollups(ctx context.Context, ids []string) (map[string]stripesync.Rollup, error)
	BoundLinks(ctx context.Context) iter.Seq2[stripesync.AccountLink, error]
	SharedCustomerLinks(ctx context.Context) ([]stripesync.AccountLink, error)
}

// ReconcileSources are the lists reconcile compares; the engine's own
// CRM, Billing and ledgers supply the rest (and the repairs).
type ReconcileSources struct {
	Stripe ReconcileStripe
	CRM    ReconcileCRM
	Ledger ReconcileLedger
}

// ReconcileOptions tunes one reconcile.
type ReconcileOptions struct {
	// Since limits the PaymentIntents (created at or after) and the CRM
	// invoices and accounts (stamped at or after) compared; zero compares
	// all. Customers and links are always compared whole: one Stripe page
	// per 100 customers.
	Since time.Time
	// Repair fixes the drift the daemon owns (see Engine.Reconcile).
	Repair bool
	// Progress, when set, is called after each page with the objects
	// compared so far and the drift found so far.
	Progress func(compared, drift int)
}

// ReconcileReport is what one reconcile found.
type ReconcileReport struct {
	Run stripesync.SyncRun
	// Compared counts the objects compared, by what they are.
	Compared map[string]int
	Drift    []Drift
}

// Counts is the number of drift items of each kind, every kind present.
func (r ReconcileReport) Counts() map[DriftKind]int {
	out := make(map[DriftKind]int, len(DriftKinds))
	for _, k := range DriftKinds {
		out[k] = 0
	}
	for _, d := range r.Drift {
		out[d.Kind]++
	}
	return out
}

// Unrepaired counts the drift items left for a person (or for --repair).
func (r ReconcileReport) Unrepaired() int {
	n := 0
	for _, d := range r.Drift {
		if !d.Repaired {
			n++
		}
	}
	return n
}

// ReconcileObserver is told the drift of each finished reconcile, for
// metrics; the engine's Observer implements it when it can
// (metrics.Metrics does).
type ReconcileObserver interface {
	ReconcileFinished(drift map[string]int, at time.Time)
}

// reconcileBatch is how many CRM records are looked up in the ledger at
// once (one query each).
const reconcileBatch = 500

// writeBackRounds bounds the write-back rounds a repair drains, so that a
// CRM refusing every record cannot keep the command running.
const writeBackRounds = 100

// reconciler is the state of one reconcile.
type reconciler struct {
	e    *Engine
	src  ReconcileSources
	opts ReconcileOptions
	rep  *ReconcileReport
	// live holds the ids of the live customers listed: the links are
	// checked against it. Customers are few beside payments (one per
	// account), so it is kept; payments are compared a page at a time.
	live map[string]bool
	// claimed holds the CRM ids of links that share their customer with
	// another link: which is right needs a person, so no repair spreads
	// either to the CRM.
	claimed map[string]bool
}

// Reconcile compares Stripe, the ledger and the CRM and returns what
// differs (see DriftKinds), recording a run of kind
// stripesync.RunKindReconcile. Every list is read a page at a time:
// PaymentIntents are compared a Stripe page at a time against the ledger
// rows and the Payment__c records of that page's ids (one query each); CRM
// invoices and accounts a query page at a time against the ledger.
//
// With Repair it fixes what the daemon owns, through the daemon's own
// paths, and never deletes anything in Stripe or the CRM: a payment is
// re-recorded from Stripe through the ledger's ingest (which enqueues its
// write-backs), a Payment__c or Invoice__c that differs gets a write-back
// job in the durable queue (drained before Reconcile returns), an account
// whose customer exists without a link adopts it (the oldest, as the push
// would), Stripe_Customer_Id__c is written from the link, and a link to a
// deleted customer is handled as the customer.deleted event is. A
// duplicate customer, and a customer two accounts claim, need a person:
// they are reported, never repaired, and the link of such a customer is
// not written to Stripe_Customer_Id__c either.
//
// The returned error is set only when the run could not be recorded; a
// run that stopped early is returned with Status RunFailed.
func (e *Engine) Reconcile(ctx context.Context, src ReconcileSources, opts ReconcileOptions) (ReconcileReport, error) {
	if e.payments == nil || src.Stripe == nil || src.CRM == nil || src.Ledger == nil {
		return ReconcileReport{}, errors.New("sync: reconcile needs Config.Payments and Config.Queue and every ReconcileSources list")
	}
	started := e.now()
	run, err := e.ledger.StartRun(ctx, stripesync.RunKindReconcile, started)
	if err != nil {
		return ReconcileReport{}, fmt.Errorf("start reconcile: %w", err)
	}
	rep := ReconcileReport{Run: run, Compared: map[string]int{}}
	r := &reconciler{e: e, src: src, opts: opts, rep: &rep, live: map[string]bool{}, claimed: map[string]bool{}}
	stop := r.run(ctx)
	return rep, r.finish(ctx, started, stop)
}

func (r *reconciler) run(ctx context.Context) error {
	// A payment re-recorded by a repair changes its invoice's rollup and
	// queues the write-back; it is drained before the invoices are
	// compared, so the CRM is not reported behind for a write in flight.
	steps := []func(context.Context) error{r.payments, r.drainWriteBack, r.paymentRecords, r.invoices, r.customers, r.links, r.accounts, r.drainWriteBack}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// finish records the run: see stripesync.RunKindReconcile.
func (r *reconciler) finish(ctx context.Context, started time.Time, stop error) error {
	run := &r.rep.Run
	run.FinishedAt = r.e.now()
	run.Seen, run.Failed, run.Pushed = 0, len(r.rep.Drift), 0
	for _, n := range r.rep.Compared {
		run.Seen += n
	}
	for _, d := range r.rep.Drift {
		if d.Repaired {
			run.Pushed++
		}
	}
	run.Status = stripesync.RunSucceeded
	if stop != nil {
		run.Status, run.Error = stripesync.RunFailed, stop.Error()
	}
	err := r.e.ledger.FinishRun(context.WithoutCancel(ctx), *run)
	if o := r.e.observer; o != nil {
		o.RunFinished(stripesync.RunKindReconcile, string(run.Status), run.FinishedAt.Sub(started))
		if ro, ok := o.(ReconcileObserver); ok && stop == nil {
			drift := map[string]int{}
			for k, n := range r.rep.Counts() {
				drift[string(k)] = n
			}
			ro.ReconcileFinished(drift, run.FinishedAt)
		}
	}
	level := r.e.logger.Info
	if run.Status != stripesync.RunSucceeded || run.Failed > 0 {
		level = r.e.logger.Warn
	}
	level("run finished", "job", stripesync.RunKindReconcile, "run_id", run.ID, "status", run.Status,
		"compared", run.Seen, "drift", run.Failed, "repaired", run.Pushed,
		"duration_ms", run.FinishedAt.Sub(started).Milliseconds(), "error", run.Error)
	if err != nil {
		return fmt.Errorf("record reconcile run: %w", err)
	}
	return nil
}

func (r *reconciler) add(d Drift) {
	r.rep.Drift = append(r.rep.Drift, d)
	r.e.logger.Warn("reconcile drift", "kind", d.Kind, "id", d.ID, "detail", d.Detail, "repaired", d.Repaired)
}

func (r *reconciler) progress() {
	if r.opts.Progress == nil {
		return
	}
	n := 0
	for _, c := range r.rep.Compared {
		n += c
	}
	r.opts.Progress(n, len(r.rep.Drift))
}

// payments compares every PaymentIntent, a Stripe page at a time.
func (r *reconciler) payments(ctx context.Context) error {
	for page, err := range r.src.Stripe.PaymentIntentPages(ctx, r.opts.Since) {
		if err != nil {
			return fmt.Errorf("list PaymentIntents: %w", err)
		}
		ids := make([]string, len(page))
		for i, p := range page {
			ids[i] = p.ID
		}
		stored, err := r.e.payments.PaymentsByID(ctx, ids)
		if err != nil {
			return err
		}
		records, err := r.src.CRM.PaymentRecords(ctx, ids)
		if err != nil {
			return fmt.Errorf("read Payment__c records: %w", err)
		}
		for _, p := range page {
			if err := r.payment(ctx, p, stored, records); err != nil {
				return err
			}
		}
		r.rep.Compared["payments"] += len(page)
		r.progress()
	}
	return nil
}

// payment compares one PaymentIntent with the ledger and, when the ledger
// agrees with Stripe, the ledger with Payment__c.
func (r *reconciler) payment(ctx context.Context, p stripesync.Payment, stored map[string]stripesync.Payment, records map[string]stripesync.CRMPayment) error {
	old, known := stored[p.ID]
	var found []Drift
	if !known {
		found = append(found, Drift{Kind: DriftPaymentMissing, ID: p.ID,
			Detail: fmt.Sprintf("%s %s in Stripe, not in the ledger", p.Status, p.Amount)})
	} else {
		found = append(found, stripeDrift(p, old)...)
	}
	if len(found) > 0 {
		// The ledger is behind Stripe: the CRM follows the ledger, so it
		// is compared only once the ledger is right.
		if r.opts.Repair {
			changed, err := r.e.recordPayment(ctx, p)
			if err != nil {
				return err
			}
			for i := range found {
				found[i].Repaired = changed
			}
		}
		for _, d := range found {
			r.add(d)
		}
		return nil
	}
	rec, ok := records[p.ID]
	var d Drift
	switch {
	case !ok:
		d = Drift{Kind: DriftCRMPaymentMissing, ID: p.ID, Detail: "no Payment__c record"}
	case rec.Amount.Amount != old.Amount.Amount || rec.Refunded != old.Refunded || rec.Status != old.CRMStatus():
		d = Drift{Kind: DriftCRMPayment, ID: p.ID, Detail: fmt.Sprintf(
			"Payment__c shows %s refunded %d %s; the ledger %s refunded %d %s",
			rec.Amount, rec.Refunded, rec.Status, old.Amount, old.Refunded, old.CRMStatus())}
	default:
		return nil
	}
	if r.opts.Repair {
		if err := r.enqueue(ctx, stripesync.JobCRMPayment, p.ID); err != nil {
			return err
		}
		d.Repaired = true
	}
	r.add(d)
	return nil
}

// stripeDrift lists how the ledger's row differs from Stripe's
// PaymentIntent.
func stripeDrift(p, old stripesync.Payment) []Drift {
	var out []Drift
	if p.Status != old.Status {
		out = append(out, Drift{Kind: DriftPaymentStatus, ID: p.ID,
			Detail: fmt.Sprintf("Stripe %s, ledger %s", p.Status, old.Status)})
	}
	if p.Amount != old.Amount {
		out = append(out, Drift{Kind: DriftPaymentAmount, ID: p.ID,
			Detail: fmt.Sprintf("Stripe %s, ledger %s", p.Amount, old.Amount)})
	}
	if p.Refunded != old.Refunded || p.Disputed != old.Disputed {
		out = append(out, Drift{Kind: DriftPaymentRefunded, ID: p.ID,
			Detail: fmt.Sprintf("Stripe refunded %d disputed %t, ledger refunded %d disputed %t",
				p.Refunded, p.Disputed, old.Refunded, old.Disputed)})
	}
	return out
}

// enqueue adds a CRM write-back job for id through the durable queue, as
// the ledger does when a rollup changes.
func (r *reconciler) enqueue(ctx context.Context, kind, id string) error {
	payload, err := json.Marshal(jobPayload{ID: id})
	if err != nil {
		return err
	}
	if _, err := r.e.queue.Enqueue(ctx, stripesync.Job{Kind: kind, Payload: payload}); err != nil {
		return fmt.Errorf("enqueue %s for %s: %w", kind, id, err)
	}
	return nil
}

// drainWriteBack runs the write-back until the queue has nothing due, so
// that the repairs (the jobs reconcile enqueued, and those of the payments
// it re-recorded) are in the CRM when the command ends.
func (r *reconciler) drainWriteBack(ctx context.Context) error {
	if !r.opts.Repair || !slices.ContainsFunc(r.rep.Drift, func(d Drift) bool { return d.Repaired }) {
		return nil
	}
	for range writeBackRounds {
		n, err := r.e.WriteBack(ctx)
		if err != nil {
			return fmt.Errorf("write back repairs: %w", err)
		}
		if n == 0 {
			return nil
		}
	}
	return nil
}

// paymentRecords finds the Payment__c records whose PaymentIntent the
// ledger does not hold, a batch of CRM records at a time: the PaymentIntent
// listing finds a payment missing from the CRM, this the reverse. The
// daemon deletes nothing in the CRM, so such a record needs a person. One
// already reported as payment_missing (Stripe has it, the ledger not) is
// not reported again.
func (r *reconciler) paymentRecords(ctx context.Context) error {
	reported := map[string]bool{}
	for _, d := range r.rep.Drift {
		if d.Kind == DriftPaymentMissing {
			reported[d.ID] = true
		}
	}
	return inBatches(r.src.CRM.PaymentStripeIDs(ctx, r.opts.Since), "Payment__c records", func(batch []string) error {
		stored, err := r.e.payments.PaymentsByID(ctx, batch)
		if err != nil {
			return err
		}
		for _, id := range batch {
			if _, ok := stored[id]; !ok && !reported[id] {
				r.add(Drift{Kind: DriftCRMPaymentUnknown, ID: id, Detail: "a Payment__c record names it; the ledger does not hold it"})
			}
		}
		r.rep.Compared["payment_records"] += len(batch)
		r.progress()
		return nil
	})
}

// invoices compares the CRM's rollup fields with the ledger's rollups,
// a batch of CRM records at a time.
func (r *reconciler) invoices(ctx context.Context) error {
	return inBatches(r.src.CRM.InvoiceRollups(ctx, r.opts.Since), "invoices from the CRM", func(batch []stripesync.CRMInvoice) error {
		ids := make([]string, len(batch))
		for i, inv := range batch {
			ids[i] = inv.ID
		}
		rollups, err := r.src.Ledger.InvoiceRollups(ctx, ids)
		if err != nil {
			return err
		}
		for _, inv := range batch {
			roll, ok := rollups[inv.ID]
			if !ok || inv.Deleted || inv.Unreadable {
				continue // unknown to the ledger, or bad data: the invoice pull's to report
			}
			r.rep.Compared["invoices"]++
			if inv.AmountPaid.Amount == roll.Paid.Amount && inv.Status == roll.Status &&
				(!inv.BalanceSet || inv.BalanceDue.Amount == roll.Balance.Amount) {
				continue
			}
			d := Drift{Kind: DriftCRMInvoiceRollup, ID: inv.ID, Detail: fmt.Sprintf(
				"CRM paid %s balance %s %s; ledger paid %s balance %s %s",
				inv.AmountPaid, inv.BalanceDue, inv.Status, roll.Paid, roll.Balance, roll.Status)}
			if r.opts.Repair {
				if err := r.enqueue(ctx, stripesync.JobCRMInvoice, inv.ID); err != nil {
					return err
				}
				d.Repaired = true
			}
			r.add(d)
		}
		r.progress()
		return nil
	})
}

// customers compares the customers that name a CRM account with the
// accounts' links.
func (r *reconciler) customers(ctx context.Context) error {
	byAccount := map[string][]string{} // CRM account → its customers
	for page, err := range r.src.Stripe.CustomerPages(ctx) {
		if err != nil {
			return fmt.Errorf("list customers: %w", err)
		}
		for _, c := range page {
			if c.Deleted {
				continue
			}
			r.live[c.ID] = true
			if c.CRMAccountID != "" {
				byAccount[c.CRMAccountID] = append(byAccount[c.CRMAccountID], c.ID)
			}
		}
		r.rep.Compared["customers"] += len(page)
		r.progress()
	}
	accounts := slices.Sorted(func(yield func(string) bool) {
		for a := range byAccount {
			if !yield(a) {
				return
			}
		}
	})
	for chunk := range slices.Chunk(accounts, reconcileBatch) {
		links, err := r.e.ledger.AccountLinks(ctx, chunk)
		if err != nil {
			return fmt.Errorf("read account links: %w", err)
		}
		for _, acct := range chunk {
			if err := r.customersOf(ctx, acct, byAccount[acct], links); err != nil {
				return err
			}
		}
	}
	return nil
}

// customersOf compares the customers naming account acct with its link.
func (r *reconciler) customersOf(ctx context.Context, acct string, customers []string, links map[string]stripesync.AccountLink) error {
	link, ok := links[acct]
	switch {
	case ok && (link.State == stripesync.LinkIgnored || link.State == stripesync.LinkUnbound):
		// Not the daemon's to map (policy Ignore), or the CRM account
		// was deleted and its customer is left alone on purpose.
		return nil
	case ok && link.State == stripesync.LinkBound:
		for _, c := range customers {
			if c != link.StripeID {
				r.add(Drift{Kind: DriftCustomerDuplicate, ID: c, Detail: fmt.Sprintf(
					"also names account %s, whose customer is %s; needs a person (reconcile never deletes)", acct, link.StripeID)})
			}
		}
		return nil
	}
	// No link, or one that binds nothing: the customer the push would
	// adopt is the oldest (FindCustomerByAccount's rule).
	adopt, err := r.e.billing.FindCustomerByAccount(ctx, acct)
	if err != nil {
		return fmt.Errorf("find the customer of account %s: %w", acct, err)
	}
	if adopt == "" {
		adopt = slices.Min(customers) // not searchable yet: any fixed choice
	}
	d := Drift{Kind: DriftCustomerUnlinked, ID: adopt, Detail: fmt.Sprintf("names account %s, which has no bound link", acct)}
	if r.opts.Repair {
		if err := r.adopt(ctx, acct, adopt, link, ok); err != nil {
			return err
		}
		d.Repaired = true
	}
	r.add(d)
	for _, c := range customers {
		if c != adopt {
			r.add(Drift{Kind: DriftCustomerDuplicate, ID: c, Detail: fmt.Sprintf(
				"also names account %s, whose customer is %s; needs a person (reconcile never deletes)", acct, adopt)})
		}
	}
	return nil
}

// adopt binds account acct to customer cus and tells the CRM, as a push
// that found the customer by metadata does.
func (r *reconciler) adopt(ctx context.Context, acct, cus string, link stripesync.AccountLink, existed bool) error {
	if !existed {
		link = stripesync.AccountLink{CRMID: acct, Policy: stripesync.PolicyCreate}
	}
	link.StripeID, link.State, link.LastError, link.UpdatedAt = cus, stripesync.LinkBound, "", r.e.now()
	// Hash stays as it was (empty for a new link), so the next push
	// brings the adopted customer's fields up to date.
	if err := r.e.ledger.SaveAccountLink(ctx, link); err != nil {
		return fmt.Errorf("link account %s to %s: %w", acct, cus, err)
	}
	return r.writeCustomerIDs(ctx, []stripesync.AccountSyncUpdate{{AccountID: acct, StripeCustomerID: cus, SyncedAt: r.e.now()}})
}

// writeCustomerIDs writes Stripe_Customer_Id__c back through the push's
// CRM call.
func (r *reconciler) writeCustomerIDs(ctx context.Context, updates []stripesync.AccountSyncUpdate) error {
	perRecord, err := r.e.crm.WriteAccountSync(ctx, updates)
	for i, recErr := range perRecord {
		if recErr != nil {
			err = errors.Join(err, fmt.Errorf("account %s: %w", updates[i].AccountID, recErr))
		}
	}
	if err != nil {
		return fmt.Errorf("write Stripe_Customer_Id__c back: %w", err)
	}
	return nil
}

// links checks every bound link against the customers listed, and looks
// for customers two links name.
func (r *reconciler) links(ctx context.Context) error {
	for link, err := range r.src.Ledger.BoundLinks(ctx) {
		if err != nil {
			return err
		}
		r.rep.Compared["links"]++
		if r.live[link.StripeID] {
			continue
		}
		// Not listed: created since the list, or gone. Ask.
		st, err := r.e.billing.Customer(ctx, link.StripeID)
		switch {
		case err == nil && !st.Deleted:
			continue
		case err != nil && stripesync.CodeOf(err) != stripesync.ENOTFOUND:
			return fmt.Errorf("read customer %s: %w", link.StripeID, err)
		}
		d := Drift{Kind: DriftLinkCustomerMissing, ID: link.CRMID,
			Detail: fmt.Sprintf("bound to %s, which is deleted or missing in Stripe", link.StripeID)}
		if r.opts.Repair {
			if err := r.e.customerDeleted(ctx, link.StripeID); err != nil {
				return fmt.Errorf("unbind account %s: %w", link.CRMID, err)
			}
			d.Repaired = true
		}
		r.add(d)
	}
	shared, err := r.src.Ledger.SharedCustomerLinks(ctx)
	if err != nil {
		return err
	}
	// One item per customer, naming every account that claims it.
	for i := 0; i < len(shared); {
		j := i
		var accounts []string
		for ; j < len(shared) && shared[j].StripeID == shared[i].StripeID; j++ {
			accounts = append(accounts, shared[j].CRMID)
			r.claimed[shared[j].CRMID] = true
		}
		r.add(Drift{Kind: DriftCustomerLinkedTwice, ID: shared[i].StripeID, Detail: fmt.Sprintf(
			"the links of accounts %s all name it; needs a person", strings.Join(accounts, ", "))})
		i = j
	}
	r.progress()
	return nil
}

// accounts compares Stripe_Customer_Id__c with the bound links, a batch
// of CRM accounts at a time.
func (r *reconciler) accounts(ctx context.Context) error {
	return inBatches(r.e.crm.Accounts(ctx, r.opts.Since), "accounts from the CRM", func(batch []stripesync.Account) error {
		ids := make([]string, len(batch))
		for i, a := range batch {
			ids[i] = a.ID
		}
		links, err := r.e.ledger.AccountLinks(ctx, ids)
		if err != nil {
			return fmt.Errorf("read account links: %w", err)
		}
		var fixes []stripesync.AccountSyncUpdate
		var found []Drift
		for _, a := range batch {
			link, ok := links[a.ID]
			if a.Deleted || !ok || link.State != stripesync.LinkBound {
				continue
			}
			r.rep.Compared["accounts"]++
			if strings.TrimSpace(a.StripeCustomerID) == link.StripeID {
				continue
			}
			d := Drift{Kind: DriftCRMCustomerID, ID: a.ID,
				Detail: fmt.Sprintf("Stripe_Customer_Id__c is %q; the link is %s", a.StripeCustomerID, link.StripeID)}
			if r.opts.Repair && !r.claimed[a.ID] {
				d.Repaired = true
				fixes = append(fixes, stripesync.AccountSyncUpdate{AccountID: a.ID, StripeCustomerID: link.StripeID, SyncedAt: r.e.now()})
			}
			found = append(found, d)
		}
		if len(fixes) > 0 {
			if err := r.writeCustomerIDs(ctx, fixes); err != nil {
				return err
			}
		}
		for _, d := range found {
			r.add(d)
		}
		r.progress()
		return nil
	})
}

// inBatches reads items and hands them to flush reconcileBatch at a time
// (the last batch shorter, none when there are none), so that each batch
// costs one ledger query. A read error is named after what was read.
func inBatches[T any](items iter.Seq2[T, error], what string, flush func([]T) error) error {
	batch := make([]T, 0, reconcileBatch)
	for v, err := range items {
		if err != nil {
			return fmt.Errorf("read %s: %w", what, err)
		}
		if batch = append(batch, v); len(batch) == reconcileBatch {
			if err := flush(batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if len(batch) == 0 {
		return nil
	}
	return flush(batch)
}
