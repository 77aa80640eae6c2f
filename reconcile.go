package stripesync

// CRMPayment is a Payment__c record as the CRM holds it, read by
// reconcile to compare against the ledger's row of the same PaymentIntent.
type CRMPayment struct {
	StripeID string // Stripe_Payment_Id__c
	Amount   Money  // Amount__c in CurrencyIsoCode
	Refunded int64  // Amount_Refunded__c, in minor units of Amount.Currency
	Status   string // Status__c: Payment.CRMStatus as last written back
}

// CRMInvoice is the rollup of an Invoice__c as the CRM holds it, read by
// reconcile to compare against the ledger's rollup.
type CRMInvoice struct {
	ID         string
	AmountPaid Money // Amount_Paid__c
	BalanceDue Money // Balance_Due__c
	// BalanceSet is false when Balance_Due__c is empty: the daemon writes
	// it only with a rollup that changed, so an invoice never paid may
	// have none, and that is not drift.
	BalanceSet bool
	Status     InvoiceStatus
	Deleted    bool
	// Unreadable is set when the amounts cannot be read exactly (no or
	// unknown currency, too many decimals) or Status__c is unknown: the
	// invoice pull reports those, reconcile skips them.
	Unreadable bool
}
