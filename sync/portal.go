package sync

import (
	"context"
	"errors"
	"slices"

	"github.com/stripesync/stripesync"
)

// PortalView is everything the customer portal shows of one account.
type PortalView struct {
	AccountID  string
	CustomerID string // "" when the account has no Stripe customer yet
	Invoices   []stripesync.InvoiceView
	Methods    []stripesync.SavedMethod
}

// Portal loads an account's portal: its invoices and saved methods.
func (c *Collection) Portal(ctx context.Context, accountID string) (PortalView, error) {
	invoices, err := c.ledger.AccountInvoices(ctx, accountID)
	if err != nil {
		return PortalView{}, err
	}
	v := PortalView{AccountID: accountID, Invoices: invoices}
	v.CustomerID, v.Methods, err = c.accountMethods(ctx, accountID)
	switch {
	case v.CustomerID == "" && errors.Is(err, errNotPushed):
		return v, nil // invoices only: nothing saved to show
	case v.CustomerID == "":
		return v, err
	case err != nil:
		c.logger.Warn("saved methods unavailable", "customer_id", v.CustomerID, "error", err)
	}
	return v, nil
}

// ownMethod finds a saved method of the account's customer, read fresh
// from Stripe so that a method is never changed on another customer's
// behalf.
func (c *Collection) ownMethod(ctx context.Context, accountID, methodID string) (string, error) {
	customerID, err := c.customerOf(ctx, accountID)
	if err != nil {
		return "", err
	}
	ms, err := c.collector.SavedMethods(ctx, customerID)
	if err != nil {
		return "", err
	}
	if !slices.ContainsFunc(ms, func(m stripesync.SavedMethod) bool { return m.ID == methodID }) {
		return "", stripesync.Errorf(stripesync.ENOTFOUND, "no such payment method")
	}
	return customerID, nil
}

// RemoveMethod detaches one of the account's saved methods in Stripe.
func (c *Collection) RemoveMethod(ctx context.Context, accountID, methodID string) error {
	customerID, err := c.ownMethod(ctx, accountID, methodID)
	if err != nil {
		return err
	}
	if err := c.collector.DetachMethod(ctx, methodID); err != nil {
		return err
	}
	c.methodsChanged(ctx, customerID)
	return nil
}

// SetDefaultMethod makes one of the account's saved methods the default
// that auto-pay charges.
func (c *Collection) SetDefaultMethod(ctx context.Context, accountID, methodID string) error {
	customerID, err := c.ownMethod(ctx, accountID, methodID)
	if err != nil {
		return err
	}
	if err := c.collector.SetDefaultMethod(ctx, customerID, methodID); err != nil {
		return err
	}
	c.methodsChanged(ctx, customerID)
	return nil
}

// AddMethodRequest is the portal's "add a card / bank account".
type AddMethodRequest struct {
	AccountID  string
	Nonce      string // the form's one-time nonce: one submit, one session
	Method     string // stripesync.MethodTypeCard or MethodTypeBank
	Currency   string // the account's invoice currency; bank accounts need USD
	SuccessURL string
	CancelURL  string
}

// AddMethod opens a Checkout Session in setup mode and returns its URL.
func (c *Collection) AddMethod(ctx context.Context, r AddMethodRequest) (string, error) {
	switch r.Method {
	case stripesync.MethodTypeCard:
	case stripesync.MethodTypeBank:
		if !bankAllowed(r.Currency) {
			return "", stripesync.Errorf(stripesync.EINVALID, "Bank accounts can be added for USD accounts only")
		}
	default:
		return "", stripesync.Errorf(stripesync.EINVALID, "Choose a card or a bank account")
	}
	if r.Nonce == "" {
		return "", stripesync.Errorf(stripesync.EINVALID, "The form is incomplete; reload the page and try again")
	}
	customerID, err := c.customerOf(ctx, r.AccountID)
	if err != nil {
		return "", err
	}
	s, err := c.collector.CreateCheckoutSession(ctx, stripesync.CheckoutRequest{
		Mode: stripesync.CheckoutSetup, CustomerID: customerID,
		Amount:  stripesync.Money{Currency: r.Currency},
		Methods: []string{r.Method}, SuccessURL: r.SuccessURL, CancelURL: r.CancelURL,
		ExpiresAt: c.now().Add(checkoutLifetime),
	}, stripesync.IdempotencyKey("setup", r.AccountID, r.Nonce))
	if err != nil {
		return "", err
	}
	return s.URL, nil
}

// MethodAdded handles the return from a setup-mode Checkout Session: the
// account's methods are marked stale so the portal shows the new one.
func (c *Collection) MethodAdded(ctx context.Context, accountID string) error {
	customerID, err := c.customerOf(ctx, accountID)
	if err != nil {
		return err
	}
	return c.ledger.StaleMethods(ctx, customerID)
}

// BillingPortal opens Stripe's own Billing Portal for the account.
func (c *Collection) BillingPortal(ctx context.Context, accountID, returnURL string) (string, error) {
	customerID, err := c.customerOf(ctx, accountID)
	if err != nil {
		return "", err
	}
	return c.collector.BillingPortalURL(ctx, customerID, returnURL)
}
