package sync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/stripesync/stripesync"
)

// outcome is what pushing one account came to.
type outcome struct {
	pushed bool // Stripe was written to (or a customer adopted)
	// handled: the account's state is settled for now, so the cursor may
	// move past it. A transient failure leaves it false.
	handled   bool
	err       error
	writeBack *stripesync.AccountSyncUpdate
}

// maxSyncErrorLen is the length of Stripe_Sync_Error__c (a Text(255) field).
const maxSyncErrorLen = 255

// pushAccount applies one account's mapping policy. link is the ledger's
// record of the account, nil if it has none.
func (e *Engine) pushAccount(ctx context.Context, a stripesync.Account, link *stripesync.AccountLink) outcome {
	if ctx.Err() != nil {
		return outcome{err: ctx.Err()}
	}
	if link == nil {
		link = &stripesync.AccountLink{CRMID: a.ID}
	}
	if a.Deleted {
		return e.unbind(ctx, a, link)
	}
	p := pusher{e: e, a: a, link: *link, cust: a.Customer()}
	p.hash = p.cust.Hash()
	if link.LastError != "" && link.Hash == p.failedInput() {
		// This exact input already failed for good; only a change in the
		// CRM can make a difference, so it costs no Stripe call.
		return p.unchangedFailure()
	}
	var err error
	switch a.Policy {
	case stripesync.PolicyIgnore:
		return p.ignore(ctx)
	case stripesync.PolicyExisting:
		err = p.bindExisting(ctx)
	case stripesync.PolicyCreate:
		err = p.createOrUpdate(ctx)
	default:
		err = stripesync.Errorf(stripesync.EINVALID, "unknown Stripe_Mapping__c %q (want Create, Existing or Ignore)", a.Policy)
	}
	if err != nil {
		return p.fail(ctx, err)
	}
	return p.o
}

// unbind records that a CRM account was deleted. The Stripe customer is
// left alone: it may hold payment history the business still needs.
func (e *Engine) unbind(ctx context.Context, a stripesync.Account, link *stripesync.AccountLink) outcome {
	if link.State == "" || link.State == stripesync.LinkUnbound {
		return outcome{handled: true}
	}
	l := *link
	l.State = stripesync.LinkUnbound
	l.UpdatedAt = e.now()
	if err := e.ledger.SaveAccountLink(ctx, l); err != nil {
		return outcome{err: fmt.Errorf("unbind account %s: %w", a.ID, err)}
	}
	e.logger.Info("account unbound", "crm_id", a.ID, "stripe_id", l.StripeID)
	return outcome{handled: true}
}

// pusher carries the state of one account's push.
type pusher struct {
	e    *Engine
	a    stripesync.Account
	link stripesync.AccountLink
	cust stripesync.Customer
	hash string
	o    outcome
}

func (p *pusher) ignore(ctx context.Context) outcome {
	if p.link.State != stripesync.LinkIgnored || p.link.Policy != stripesync.PolicyIgnore {
		p.link.State = stripesync.LinkIgnored
		p.link.Policy = stripesync.PolicyIgnore
		p.link.LastError = ""
		p.link.UpdatedAt = p.e.now()
		if err := p.e.ledger.SaveAccountLink(ctx, p.link); err != nil {
			return outcome{err: fmt.Errorf("save link of ignored account %s: %w", p.a.ID, err)}
		}
	}
	o := outcome{handled: true}
	if p.a.SyncError != "" {
		o.writeBack = &stripesync.AccountSyncUpdate{AccountID: p.a.ID}
	}
	return o
}

// failedInput fingerprints everything a push decision depends on. A
// permanent failure stores it in the link's Hash, so the same input is not
// retried (our own write-back of the error touches SystemModstamp, and the
// next run reads the account again).
func (p *pusher) failedInput() string {
	sum := sha256.Sum256([]byte(p.hash + "\x00" + string(p.a.Policy) + "\x00" + p.a.StripeCustomerID))
	return "failed:" + hex.EncodeToString(sum[:16])
}

// unchangedFailure settles an account whose input already failed for good:
// nothing to do but keep the CRM showing the error.
func (p *pusher) unchangedFailure() outcome {
	o := outcome{handled: true}
	if p.a.SyncError != p.link.LastError {
		o.writeBack = &stripesync.AccountSyncUpdate{AccountID: p.a.ID, SyncError: p.link.LastError}
	}
	return o
}

// upToDate reports whether the ledger says Stripe already holds exactly
// these fields for this account under this policy.
func (p *pusher) upToDate() bool {
	return p.link.State == stripesync.LinkBound && p.link.Hash == p.hash &&
		p.link.Policy == p.a.Policy && p.link.LastError == ""
}

// skip settles an up-to-date account: no Stripe call, and a CRM write only
// when the CRM's copy of the binding drifted (someone cleared the customer
// id, or an old error is still shown).
func (p *pusher) skip() {
	p.o = outcome{handled: true}
	if p.a.StripeCustomerID != p.link.StripeID || p.a.SyncError != "" {
		p.o.writeBack = &stripesync.AccountSyncUpdate{AccountID: p.a.ID, StripeCustomerID: p.link.StripeID}
	}
}

func (p *pusher) bindExisting(ctx context.Context) error {
	want := p.a.StripeCustomerID
	if want == "" {
		return stripesync.Errorf(stripesync.EINVALID, "policy Existing needs a customer id in Stripe_Customer_Id__c")
	}
	if p.upToDate() && p.link.StripeID == want {
		p.skip()
		return nil
	}
	if p.link.State != stripesync.LinkBound || p.link.StripeID != want {
		st, err := p.e.billing.Customer(ctx, want)
		switch {
		case stripesync.CodeOf(err) == stripesync.ENOTFOUND:
			return stripesync.Errorf(stripesync.ENOTFOUND, "Stripe customer %s does not exist", want)
		case err != nil:
			return err
		case st.Deleted:
			return stripesync.Errorf(stripesync.ENOTFOUND, "Stripe customer %s was deleted", want)
		case st.CRMAccountID != "" && st.CRMAccountID != p.a.ID:
			return stripesync.Errorf(stripesync.ECONFLICT, "Stripe customer %s belongs to CRM account %s", want, st.CRMAccountID)
		}
	}
	return p.update(ctx, want)
}

func (p *pusher) createOrUpdate(ctx context.Context) error {
	if p.upToDate() {
		p.skip()
		return nil
	}
	if p.link.State == stripesync.LinkBound {
		// Whatever policy bound it, the account keeps its one customer.
		return p.update(ctx, p.link.StripeID)
	}
	id, err := p.findOwnCustomer(ctx)
	if err != nil {
		return err
	}
	if id != "" {
		return p.update(ctx, id)
	}
	return p.create(ctx)
}

// findOwnCustomer looks for a customer this account already has but the
// ledger does not know of: one a create left behind when its outcome was
// lost (pending link), or the one the CRM names, if its metadata says it
// is ours (the ledger was lost or the policy changed). A customer id the
// CRM holds without our metadata is not adopted: a cloned CRM record
// carries the original's id.
func (p *pusher) findOwnCustomer(ctx context.Context) (string, error) {
	if p.link.State == stripesync.LinkPending {
		id, err := p.searchOwnCustomer(ctx)
		if err != nil || id != "" {
			return id, err
		}
	}
	if cand := p.a.StripeCustomerID; cand != "" {
		st, err := p.e.billing.Customer(ctx, cand)
		switch {
		case stripesync.CodeOf(err) == stripesync.ENOTFOUND:
			return "", nil
		case err != nil:
			return "", err
		case !st.Deleted && st.CRMAccountID == p.a.ID:
			return cand, nil
		}
	}
	return "", nil
}

// searchOwnCustomer looks for the customer an earlier create of this
// account may have made. Search answers "none" with an empty result, so a
// failure, even a "not found" (a backend without the Search API reads
// "search" as a customer id), is no verdict on the account: it is
// unavailable, which keeps the link pending and the cursor held until a
// run can search again, instead of failing the account for good with its
// customer left unlinked.
func (p *pusher) searchOwnCustomer(ctx context.Context) (string, error) {
	id, err := p.e.billing.FindCustomerByAccount(ctx, p.a.ID)
	if err != nil && !stripesync.Retryable(err) {
		return "", stripesync.WrapError(stripesync.EUNAVAILABLE, err,
			"%s; the account stays pending until the search works", stripesync.MessageOf(err))
	}
	return id, err
}

// create makes a new customer. The intent, with the attempt number that
// goes into the idempotency key, is saved before Stripe is called.
func (p *pusher) create(ctx context.Context) error {
	if p.link.WriteAttempt == 0 {
		p.link.WriteAttempt = 1
	}
	p.link.State = stripesync.LinkPending
	p.link.Policy = p.a.Policy
	p.link.UpdatedAt = p.e.now()
	if err := p.e.ledger.SaveAccountLink(ctx, p.link); err != nil {
		return fmt.Errorf("record create intent: %w", err)
	}
	key := stripesync.IdempotencyKey("customer-create", p.a.ID, strconv.FormatInt(p.link.WriteAttempt, 10))
	id, err := p.e.billing.CreateCustomer(ctx, p.cust, key)
	switch stripesync.CodeOf(err) {
	case "":
	case stripesync.ECONFLICT:
		// The key was used with other parameters: an earlier attempt ran
		// with the account's older fields. Adopt what it created.
		found, ferr := p.searchOwnCustomer(ctx)
		if ferr != nil {
			return ferr
		}
		if found != "" {
			return p.update(ctx, found)
		}
		p.link.WriteAttempt++
		return stripesync.WrapError(stripesync.EUNAVAILABLE, err,
			"an earlier create attempt for this account left no customer; the next run uses a new key")
	case stripesync.EUNAVAILABLE:
		// The outcome is unknown and Stripe keeps the failed response
		// under this key; the next run looks the customer up by metadata
		// first and, if none exists, creates it under a fresh key.
		p.link.WriteAttempt++
		return err
	default:
		return err
	}
	p.link.Version = 0
	return p.bound(ctx, id)
}

// update overwrites the customer's fields. The key names the push (link
// version and write attempt) and the content, so a rerun after a crash
// replays the same request while a later edit, even back to older values,
// is a new one.
func (p *pusher) update(ctx context.Context, id string) error {
	key := stripesync.IdempotencyKey("customer-update", p.a.ID, id,
		strconv.FormatInt(p.link.Version+1, 10), strconv.FormatInt(p.link.WriteAttempt, 10), p.hash)
	err := p.e.billing.UpdateCustomer(ctx, id, p.cust, key)
	switch stripesync.CodeOf(err) {
	case "":
		return p.bound(ctx, id)
	case stripesync.ENOTFOUND:
		return stripesync.Errorf(stripesync.ENOTFOUND, "Stripe customer %s no longer exists", id)
	case stripesync.EUNAVAILABLE:
		// Setting the same fields twice is harmless, so the next run may
		// simply use a fresh key rather than replay this failure.
		p.link.WriteAttempt++
	}
	return err
}

// bound records a successful push and queues the CRM write-back.
func (p *pusher) bound(ctx context.Context, id string) error {
	now := p.e.now()
	p.link.StripeID = id
	p.link.State = stripesync.LinkBound
	p.link.Policy = p.a.Policy
	p.link.Hash = p.hash
	p.link.Version++
	p.link.WriteAttempt = 0
	p.link.LastError = ""
	p.link.SyncedAt = now
	p.link.UpdatedAt = now
	if err := p.e.ledger.SaveAccountLink(ctx, p.link); err != nil {
		// Stripe is updated but the ledger is not: the next run repeats the
		// same idempotent request and records it then.
		return fmt.Errorf("record push: %w", err)
	}
	p.o = outcome{pushed: true, handled: true, writeBack: &stripesync.AccountSyncUpdate{
		AccountID: p.a.ID, StripeCustomerID: id, SyncedAt: now,
	}}
	return nil
}

// fail records a failed push in the ledger and in the CRM. A permanent
// failure (bad data, a missing customer) is handled: retrying unchanged
// cannot help, and editing the account in the CRM brings it back. A
// transient one holds the cursor so the next run tries again.
func (p *pusher) fail(ctx context.Context, err error) outcome {
	msg := truncate(stripesync.MessageOf(err), maxSyncErrorLen)
	if stripesync.CodeOf(err) == stripesync.EINTERNAL {
		msg = truncate(err.Error(), maxSyncErrorLen)
	}
	o := outcome{err: err, handled: !stripesync.Retryable(err) && ctx.Err() == nil}
	if p.link.State == "" || p.link.State == stripesync.LinkIgnored || p.link.State == stripesync.LinkUnbound {
		p.link.State = stripesync.LinkFailed
	}
	p.link.Policy = p.a.Policy
	p.link.LastError = msg
	p.link.UpdatedAt = p.e.now()
	if o.handled {
		p.link.Hash = p.failedInput()
	}
	if serr := p.e.ledger.SaveAccountLink(context.WithoutCancel(ctx), p.link); serr != nil {
		o.handled = false
		o.err = fmt.Errorf("%w (and recording it failed: %v)", err, serr)
	}
	if p.a.SyncError != msg {
		o.writeBack = &stripesync.AccountSyncUpdate{AccountID: p.a.ID, SyncError: msg}
	}
	if code := customerProblem(err); o.handled && code != "" {
		// The account cannot be paid until a person fixes its mapping.
		_, _ = p.e.RecordFailure(ctx, stripesync.Failure{
			Key: "customer:" + p.a.ID, Source: stripesync.FailureCustomer, AccountID: p.a.ID, Code: code, Message: msg,
		})
	}
	return o
}

// customerProblem is the failure inbox's code for a push that failed on
// the account's Stripe customer: one that is missing or deleted, or one an
// Existing mapping names that belongs to another account; "" for any other
// failure.
func customerProblem(err error) string {
	switch stripesync.CodeOf(err) {
	case stripesync.ENOTFOUND:
		return "customer_missing"
	case stripesync.ECONFLICT:
		return "mapping_invalid"
	}
	return ""
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
