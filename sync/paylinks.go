package sync

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/links"
)

// DefaultLinkTTL is how long a payment or portal link works by default.
const DefaultLinkTTL = 720 * time.Hour

// LinkConfig turns on payment links (issued, revoked, written to
// Invoice__c.Payment_Link__c and mailed) and portal links.
type LinkConfig struct {
	// Signer makes and checks the tokens; required. Its key must stay
	// the same across restarts and replicas.
	Signer *links.Signer
	// PublicURL is the base of the links, without a trailing slash:
	// links are PublicURL/pay/{token} and PublicURL/portal/{token}.
	// Required.
	PublicURL string
	// TTL is how long a link works; 0 means DefaultLinkTTL.
	TTL time.Duration
	// AutoIssue issues a link for every invoice with a balance due that
	// the invoice pull reads while the CRM shows none, and again once the
	// link it issued expired.
	AutoIssue bool
	// Ledger keeps the issued links; required.
	Ledger stripesync.PaymentLinkLedger
	// Revocations records revocations (the collection ledger); required.
	Revocations stripesync.LinkRevocations
	// Mailer sends payment links by e-mail; nil turns that off.
	Mailer LinkMailer
}

// LinkMailer mails a payment link. receipts.Sender implements it.
type LinkMailer interface {
	SendPaymentLink(ctx context.Context, n stripesync.LinkNotice) error
}

func (c LinkConfig) validate() error {
	var errs []error
	if c.Signer == nil {
		errs = append(errs, errors.New("sync: LinkConfig.Signer is required"))
	}
	if c.PublicURL == "" {
		errs = append(errs, errors.New("sync: LinkConfig.PublicURL is required"))
	}
	if c.Ledger == nil || c.Revocations == nil {
		errs = append(errs, errors.New("sync: LinkConfig.Ledger and LinkConfig.Revocations are required"))
	}
	if c.TTL < 0 {
		errs = append(errs, errors.New("sync: LinkConfig.TTL must not be negative"))
	}
	return errors.Join(errs...)
}

// linkIssuer is the engine's link state.
type linkIssuer struct {
	LinkConfig
	wake chan struct{} // the link-mail worker's wake-ups
}

func newLinkIssuer(cfg *LinkConfig) (*linkIssuer, error) {
	if cfg == nil {
		return nil, nil
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	l := &linkIssuer{LinkConfig: *cfg, wake: make(chan struct{}, 1)}
	if l.TTL == 0 {
		l.TTL = DefaultLinkTTL
	}
	return l, nil
}

// sign makes a link of kind to subject, issued at now (to the
// millisecond, as tokens keep it).
func (l *linkIssuer) sign(kind links.Kind, subject string, now time.Time) (url string, link links.Link, err error) {
	now = now.Truncate(time.Millisecond)
	link = links.Link{Kind: kind, Subject: subject, Issued: now, Expires: now.Add(l.TTL)}
	token, err := l.Signer.Token(link)
	if err != nil {
		return "", link, err
	}
	path := "/pay/"
	if kind == links.Portal {
		path = "/portal/"
	}
	return l.PublicURL + path + token, link, nil
}

func (l *linkIssuer) issue(invoiceID string, now time.Time) (stripesync.IssuedLink, error) {
	url, link, err := l.sign(links.Pay, invoiceID, now)
	return stripesync.IssuedLink{InvoiceID: invoiceID, URL: url, IssuedAt: link.Issued, ExpiresAt: link.Expires}, err
}

var errLinksOff = stripesync.Errorf(stripesync.EUNAVAILABLE, "payment links are not configured (no signing key)")

// Errors of VerifyPaymentLink and VerifyPortalLink for a genuine link that
// no longer works; a forged or mangled token is a plain ENOTFOUND.
var (
	ErrLinkExpired = stripesync.Errorf(stripesync.ENOTFOUND, "this link has expired")
	ErrLinkRevoked = stripesync.Errorf(stripesync.ENOTFOUND, "this link has been withdrawn")
)

// LinkRequest asks for a payment link.
type LinkRequest struct {
	InvoiceID string
	// Email also mails the link to the account's billing e-mail.
	Email bool
	// RequestID keys the mail job, so that one request sends one
	// message however often it is retried; "" means a random one.
	RequestID string
	// Staff is who asked, as the staff token file names them; "" for
	// the daemon itself. A staff member's request is written to the
	// invoice's audit trail, refusals included.
	Staff string
}

// PaymentLink is a link just issued.
type PaymentLink struct {
	InvoiceID string
	URL       string
	ExpiresAt time.Time
	// Emailed reports that the mail was queued (it is sent, and retried
	// on failure, by the link-mail worker) to EmailedTo, the account's
	// billing e-mail.
	Emailed   bool
	EmailedTo string
}

// linkPayload is the payload of a JobSendPaymentLink.
type linkPayload struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// IssuePaymentLink issues a payment link for an invoice with a balance
// due, records it in the ledger (which queues the write to
// Payment_Link__c) and, when asked, queues the mail in the same
// transaction. The invoice is read from the CRM first, so that the
// decision is on its current status (the ledger's copy is used when the
// CRM cannot be reached). An unknown invoice is ENOTFOUND; a Draft, Void
// or fully paid one is ECONFLICT; Email without mail configured or
// without a billing e-mail on the account is EINVALID. Nothing is written
// on error.
func (e *Engine) IssuePaymentLink(ctx context.Context, req LinkRequest) (PaymentLink, error) {
	l, err := e.issuePaymentLink(ctx, req)
	if req.Staff != "" && req.InvoiceID != "" && stripesync.CodeOf(err) != stripesync.ENOTFOUND {
		detail := "not e-mailed"
		if req.Email {
			detail = "e-mailed"
			if l.EmailedTo != "" {
				detail += " to " + l.EmailedTo
			}
		}
		recordStaffAction(ctx, e.audit, e.logger, e.now(), stripesync.StaffAction{
			Staff: req.Staff, Action: stripesync.StaffActionLinkSent, InvoiceID: req.InvoiceID, Detail: detail,
		}, err)
	}
	return l, err
}

func (e *Engine) issuePaymentLink(ctx context.Context, req LinkRequest) (PaymentLink, error) {
	if e.links == nil {
		return PaymentLink{}, errLinksOff
	}
	inv, r, err := e.currentInvoice(ctx, req.InvoiceID)
	if err != nil {
		return PaymentLink{}, err
	}
	if err := stripesync.Payable(inv, r); err != nil {
		return PaymentLink{}, err
	}
	var jobs []stripesync.Job
	var emailedTo string
	now := e.now()
	issued, err := e.links.issue(inv.ID, now)
	if err != nil {
		return PaymentLink{}, err
	}
	if req.Email {
		if e.links.Mailer == nil {
			return PaymentLink{}, stripesync.Errorf(stripesync.EINVALID, "cannot e-mail the link: mail is not configured")
		}
		acct, err := e.billingEmail(ctx, inv)
		if err != nil {
			return PaymentLink{}, err
		}
		emailedTo = acct.Email
		key := req.RequestID
		if key == "" {
			key = randomID()
		}
		payload, _ := json.Marshal(linkPayload{ID: inv.ID, URL: issued.URL, IssuedAt: issued.IssuedAt, ExpiresAt: issued.ExpiresAt})
		jobs = append(jobs, stripesync.Job{Kind: stripesync.JobSendPaymentLink, Key: key, Payload: payload})
	}
	if err := e.links.Ledger.SavePaymentLinks(ctx, []stripesync.IssuedLink{issued}, jobs...); err != nil {
		return PaymentLink{}, err
	}
	poke(e.wake.crm)
	if req.Email {
		poke(e.links.wake)
	}
	e.logger.InfoContext(ctx, "payment link issued", "invoice_id", inv.ID, "expires_at", issued.ExpiresAt, "emailed", req.Email)
	return PaymentLink{InvoiceID: inv.ID, URL: issued.URL, ExpiresAt: issued.ExpiresAt, Emailed: req.Email, EmailedTo: emailedTo}, nil
}

// RevokePaymentLinks makes every payment link issued so far for the
// invoice stop working and clears Payment_Link__c (through the queued
// write-back); the invoice gets no automatic link again until staff issue
// one. An unknown invoice is ENOTFOUND.
func (e *Engine) RevokePaymentLinks(ctx context.Context, invoiceID string) error {
	if e.links == nil {
		return errLinksOff
	}
	if _, _, err := e.payments.Invoice(ctx, invoiceID); err != nil {
		return err
	}
	now := e.now()
	if err := e.links.Revocations.RevokeLinks(ctx, invoiceID, now); err != nil {
		return err
	}
	if err := e.links.Ledger.SavePaymentLinks(ctx, []stripesync.IssuedLink{{InvoiceID: invoiceID, IssuedAt: now}}); err != nil {
		return err
	}
	poke(e.wake.crm)
	e.logger.InfoContext(ctx, "payment links revoked", "invoice_id", invoiceID)
	return nil
}

// PortalLink issues a portal link for a CRM account the daemon knows (in
// the ledger, or else in the CRM); an unknown or deleted one is
// ENOTFOUND.
func (e *Engine) PortalLink(ctx context.Context, accountID string) (url string, expires time.Time, err error) {
	if e.links == nil {
		return "", time.Time{}, errLinksOff
	}
	known, err := e.ledger.AccountLinks(ctx, []string{accountID})
	if err != nil {
		return "", time.Time{}, err
	}
	if l, ok := known[accountID]; !ok || l.State == stripesync.LinkUnbound {
		acct, err := e.crm.Account(ctx, accountID)
		switch {
		case notFound(err) || (err == nil && acct.Deleted):
			return "", time.Time{}, stripesync.Errorf(stripesync.ENOTFOUND, "account %s does not exist", accountID)
		case err != nil:
			return "", time.Time{}, err
		}
	}
	url, link, err := e.links.sign(links.Portal, accountID, e.now())
	return url, link.Expires, err
}

// VerifyPaymentLink checks a payment link's token and returns the link
// (its Subject is the invoice id): ENOTFOUND for a token that is not one
// of ours, ErrLinkExpired or ErrLinkRevoked for one that no longer works.
func (e *Engine) VerifyPaymentLink(ctx context.Context, token string) (links.Link, error) {
	l, err := e.ParsePaymentLink(token)
	if err != nil {
		return l, err
	}
	revokedAt, err := e.links.Revocations.LinksRevokedAt(ctx, l.Subject)
	if err != nil {
		return l, err
	}
	if l.RevokedBy(revokedAt) {
		return l, ErrLinkRevoked
	}
	return l, nil
}

// ParsePaymentLink is VerifyPaymentLink without the revocation, which
// needs the ledger: it checks the token's signature and expiry only, for
// a caller that reads the revocation with the invoice (PayView's
// LinksRevokedAt) and must check it then.
func (e *Engine) ParsePaymentLink(token string) (links.Link, error) {
	return e.parseLink(token, links.Pay)
}

// VerifyPortalLink checks a portal link's token and returns the link (its
// Subject is the CRM account id): ENOTFOUND for a token that is not one
// of ours, ErrLinkExpired for one that expired.
func (e *Engine) VerifyPortalLink(token string) (links.Link, error) {
	return e.parseLink(token, links.Portal)
}

// parseLink checks a token of kind: its signature, then its expiry.
func (e *Engine) parseLink(token string, kind links.Kind) (links.Link, error) {
	if e.links == nil {
		return links.Link{}, errLinksOff
	}
	l, err := e.links.Signer.Parse(token, kind)
	if err == nil && l.Expired(e.now()) {
		err = ErrLinkExpired
	}
	return l, err
}

// currentInvoice reads an invoice from the CRM into the ledger and returns
// the ledger's copy with its rollup.
func (e *Engine) currentInvoice(ctx context.Context, id string) (stripesync.Invoice, stripesync.Rollup, error) {
	if e.payments == nil {
		return stripesync.Invoice{}, stripesync.Rollup{}, errors.New("sync: payment links need Config.Payments")
	}
	inv, err := e.crm.Invoice(ctx, id)
	switch {
	case notFound(err) || (err == nil && inv.Deleted):
		return stripesync.Invoice{}, stripesync.Rollup{}, stripesync.Errorf(stripesync.ENOTFOUND, "invoice %s does not exist", id)
	case err == nil:
		if err := e.payments.SaveInvoices(ctx, []stripesync.Invoice{inv}); err != nil {
			return stripesync.Invoice{}, stripesync.Rollup{}, err
		}
	default:
		e.logger.WarnContext(ctx, "cannot read the invoice from the CRM; using the ledger's copy", "invoice_id", id, "error", err)
	}
	return e.payments.Invoice(ctx, id)
}

// notFound reports whether a CRM read found no record: a missing id, or
// one Salesforce refuses as malformed.
func notFound(err error) bool {
	c := stripesync.CodeOf(err)
	return err != nil && (c == stripesync.ENOTFOUND || c == stripesync.EINVALID)
}

// billingEmail returns the invoice's account with its billing e-mail, or
// EINVALID when there is none.
func (e *Engine) billingEmail(ctx context.Context, inv stripesync.Invoice) (stripesync.Account, error) {
	if inv.AccountID == "" {
		return stripesync.Account{}, stripesync.Errorf(stripesync.EINVALID, "invoice %s has no account to e-mail", inv.Number)
	}
	acct, err := e.crm.Account(ctx, inv.AccountID)
	if err != nil {
		return acct, err
	}
	if acct.Email == "" {
		return acct, stripesync.Errorf(stripesync.EINVALID, "account %s has no billing e-mail", inv.AccountID)
	}
	return acct, nil
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}

// autoIssueLinks issues links for the invoices among invs that want one
// (PaymentLinkLedger.InvoicesWanting), all in one ledger transaction.
func (e *Engine) autoIssueLinks(ctx context.Context, invs []stripesync.Invoice) (int, error) {
	if e.links == nil || !e.links.AutoIssue || len(invs) == 0 {
		return 0, nil
	}
	ids := make([]string, len(invs))
	for i, inv := range invs {
		ids[i] = inv.ID
	}
	now := e.now()
	want, err := e.links.Ledger.InvoicesWanting(ctx, ids, now)
	if err != nil || len(want) == 0 {
		return 0, err
	}
	issued := make([]stripesync.IssuedLink, 0, len(want))
	for _, id := range want {
		l, err := e.links.issue(id, now)
		if err != nil {
			return 0, err
		}
		issued = append(issued, l)
	}
	if err := e.links.Ledger.SavePaymentLinks(ctx, issued); err != nil {
		return 0, err
	}
	return len(issued), nil
}

const (
	// linkMailBatch is 1 for the reason receiptBatch is: only the mail
	// under way pays an attempt for a crash.
	linkMailBatch = 1
	linkMailLease = 2 * time.Minute
)

// SendPaymentLinks mails the next batch of queued payment links (linkMailBatch). A link that
// was revoked or expired meanwhile, or whose invoice no longer has a
// balance, is dropped; a failed send is retried through the queue with
// its backoff until the job's attempts are spent.
func (e *Engine) SendPaymentLinks(ctx context.Context) (int, error) {
	if e.links == nil || e.links.Mailer == nil {
		return 0, nil
	}
	jobs, err := e.queue.Claim(ctx, stripesync.JobSendPaymentLink, linkMailBatch, linkMailLease)
	if err != nil || len(jobs) == 0 {
		return 0, err
	}
	var errs []error
	for _, j := range jobs {
		send, err := e.linkNotice(ctx, j)
		switch {
		case err != nil:
			e.logger.WarnContext(ctx, "payment link not sent; will retry", "job_id", j.ID, "error", err)
			e.failJobs(ctx, []stripesync.Job{j}, err)
			continue
		case send.URL == "":
			errs = append(errs, e.completeJobs(ctx, []stripesync.Job{j}))
			continue
		}
		if err := e.links.Mailer.SendPaymentLink(ctx, send); err != nil {
			e.logger.WarnContext(ctx, "payment link not sent; will retry", "job_id", j.ID, "error", err)
			e.failJobs(ctx, []stripesync.Job{j}, err)
			continue
		}
		e.logger.InfoContext(ctx, "payment link sent", "job_id", j.ID, "invoice", send.InvoiceNumber)
		errs = append(errs, e.completeJobs(ctx, []stripesync.Job{j}))
	}
	return len(jobs), errors.Join(errs...)
}

// linkNotice builds the message of a JobSendPaymentLink. A notice with an
// empty URL means the job is to be dropped (logged here).
func (e *Engine) linkNotice(ctx context.Context, j stripesync.Job) (stripesync.LinkNotice, error) {
	var p linkPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil || p.ID == "" || p.URL == "" {
		return stripesync.LinkNotice{}, errors.New("malformed job payload")
	}
	drop := func(why string) (stripesync.LinkNotice, error) {
		e.logger.InfoContext(ctx, "payment link not sent: "+why, "job_id", j.ID, "invoice_id", p.ID)
		return stripesync.LinkNotice{}, nil
	}
	inv, r, err := e.payments.Invoice(ctx, p.ID)
	switch {
	case stripesync.CodeOf(err) == stripesync.ENOTFOUND:
		return drop("the invoice is gone")
	case err != nil:
		return stripesync.LinkNotice{}, err
	case stripesync.Payable(inv, r) != nil:
		return drop("the invoice has nothing left to pay")
	case !e.now().Before(p.ExpiresAt):
		return drop("the link expired")
	}
	revokedAt, err := e.links.Revocations.LinksRevokedAt(ctx, p.ID)
	if err != nil {
		return stripesync.LinkNotice{}, err
	}
	if (links.Link{Issued: p.IssuedAt}).RevokedBy(revokedAt) {
		return drop("the link was revoked")
	}
	acct, err := e.billingEmail(ctx, inv)
	if stripesync.CodeOf(err) == stripesync.EINVALID {
		return drop("the account has no billing e-mail")
	}
	if err != nil {
		return stripesync.LinkNotice{}, err
	}
	return stripesync.LinkNotice{
		RequestID:     j.Key,
		Business:      e.business,
		CustomerName:  acct.Name,
		CustomerEmail: acct.Email,
		InvoiceNumber: inv.Number,
		Balance:       r.Balance,
		DueDate:       inv.DueDate,
		URL:           p.URL,
		ExpiresAt:     p.ExpiresAt,
	}, nil
}
