package crm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"github.com/stripesync/stripesync"
)

// Mapping names the CRM objects and fields the daemon reads and writes, so
// an org whose admin chose other API names can be served by a mapping file
// instead of a rebuild. The standard fields Id, IsDeleted and SystemModstamp
// are fixed by Salesforce and not mapped.
//
// Fields documented as optional may be "" to leave them out of queries
// (for example Currency in an org without multi-currency); the others are
// required.
type Mapping struct {
	Account AccountMapping `json:"account"`
	Invoice InvoiceMapping `json:"invoice"`
	Payment PaymentMapping `json:"payment"`
}

// AccountMapping names the Account object and its fields.
type AccountMapping struct {
	Object     string `json:"object"`
	Name       string `json:"name"`
	Phone      string `json:"phone"`       // optional
	Email      string `json:"email"`       // optional
	Street     string `json:"street"`      // optional
	City       string `json:"city"`        // optional
	State      string `json:"state"`       // optional
	PostalCode string `json:"postal_code"` // optional
	Country    string `json:"country"`     // optional
	Currency   string `json:"currency"`    // optional
	Policy     string `json:"policy"`      // optional; absent means Create
	// Written back after a push.
	StripeCustomerID string `json:"stripe_customer_id"`
	SyncError        string `json:"sync_error"`
	SyncedAt         string `json:"synced_at"`
}

// InvoiceMapping names the invoice object and its fields.
type InvoiceMapping struct {
	Object      string `json:"object"`
	Number      string `json:"number"`
	Account     string `json:"account"`
	Amount      string `json:"amount"`
	Currency    string `json:"currency"` // optional
	DueDate     string `json:"due_date"`
	Status      string `json:"status"`
	AutoPay     string `json:"auto_pay"`
	AmountPaid  string `json:"amount_paid"`
	BalanceDue  string `json:"balance_due"`
	PaymentLink string `json:"payment_link"`
}

// PaymentMapping names the payment object (upserted by StripePaymentID)
// and its fields.
type PaymentMapping struct {
	Object          string `json:"object"`
	StripePaymentID string `json:"stripe_payment_id"`
	Invoice         string `json:"invoice"`
	Account         string `json:"account"`
	Amount          string `json:"amount"`
	Currency        string `json:"currency"` // optional
	Status          string `json:"status"`
	Method          string `json:"method"`
	MethodDetail    string `json:"method_detail"`
	AmountRefunded  string `json:"amount_refunded"`
	PaidAt          string `json:"paid_at"`
	ReceiptNumber   string `json:"receipt_number"`
	FailureReason   string `json:"failure_reason"`
	Channel         string `json:"channel"`
}

// Pushed lists the Account fields a push depends on: the customer fields
// it sends to Stripe (stripesync.Account.Customer) and the mapping policy,
// in the order Accounts selects them; optional fields mapped to "" are
// left out. An edit of any of them can change what Stripe holds, so the
// workflow rule and the Apex trigger shipped in salesforce/ fire on these,
// and on a WrittenBack field only where the daemon never changes it
// (salesforce/README.md, "What fires a notice").
func (m AccountMapping) Pushed() []string {
	return mapped(m.Name, m.Phone, m.Email, m.Street, m.City, m.State, m.PostalCode, m.Country, m.Policy)
}

// WrittenBack lists the Account fields the daemon writes after a push
// (WriteAccountSync). Stripe_Customer_Id__c is also read: under the
// Existing policy it names the customer to bind, and it is written back
// only unchanged then.
func (m AccountMapping) WrittenBack() []string {
	return mapped(m.StripeCustomerID, m.SyncError, m.SyncedAt)
}

// Pulled lists the invoice fields the invoice pull copies into the
// ledger, in the order Invoices selects them.
func (m InvoiceMapping) Pulled() []string {
	return mapped(m.Number, m.Account, m.Amount, m.Currency, m.DueDate, m.Status, m.AutoPay)
}

// WrittenBack lists the invoice fields the daemon owns: the rollup
// (UpdateInvoices) and the payment link. Status is also pulled; the
// rollup moves it only among Open, Partially Paid and Paid and leaves
// Draft and Void, which staff set, alone (stripesync.Rollup).
func (m InvoiceMapping) WrittenBack() []string {
	return mapped(m.AmountPaid, m.BalanceDue, m.Status, m.PaymentLink)
}

// mapped drops the optional fields mapped to "".
func mapped(fields ...string) []string {
	out := make([]string, 0, len(fields))
	for _, f := range fields {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// DefaultMapping returns the names of docs/SPEC.md §6, which the metadata shipped
// with the repository deploys.
func DefaultMapping() Mapping {
	return Mapping{
		Account: AccountMapping{
			Object: "Account", Name: "Name", Phone: "Phone", Email: "Billing_Email__c",
			Street: "BillingStreet", City: "BillingCity", State: "BillingState",
			PostalCode: "BillingPostalCode", Country: "BillingCountry", Currency: "CurrencyIsoCode",
			Policy: "Stripe_Mapping__c", StripeCustomerID: "Stripe_Customer_Id__c",
			SyncError: "Stripe_Sync_Error__c", SyncedAt: "Stripe_Synced_At__c",
		},
		Invoice: InvoiceMapping{
			Object: "Invoice__c", Number: "Name", Account: "Account__c", Amount: "Amount__c",
			Currency: "CurrencyIsoCode", DueDate: "Due_Date__c", Status: "Status__c", AutoPay: "Auto_Pay__c",
			AmountPaid: "Amount_Paid__c", BalanceDue: "Balance_Due__c", PaymentLink: "Payment_Link__c",
		},
		Payment: PaymentMapping{
			Object: "Payment__c", StripePaymentID: "Stripe_Payment_Id__c", Invoice: "Invoice__c",
			Account: "Account__c", Amount: "Amount__c", Currency: "CurrencyIsoCode", Status: "Status__c",
			Method: "Method__c", MethodDetail: "Payment_Method_Detail__c", AmountRefunded: "Amount_Refunded__c",
			PaidAt: "Paid_At__c", ReceiptNumber: "Receipt_Number__c", FailureReason: "Failure_Reason__c",
			Channel: "Channel__c",
		},
	}
}

// LoadMapping reads a JSON mapping file. Keys it sets override
// DefaultMapping; keys it omits keep their defaults; unknown keys are an
// error, so a typo cannot silently fall back to a default. Example:
//
//	{"account": {"email": "Invoice_Email__c", "currency": ""}}
func LoadMapping(path string) (Mapping, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Mapping{}, stripesync.WrapError(stripesync.EINVALID, err, "read salesforce mapping file")
	}
	m := DefaultMapping()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Mapping{}, stripesync.WrapError(stripesync.EINVALID, err, "parse salesforce mapping file %s", path)
	}
	if err := m.Validate(); err != nil {
		return Mapping{}, err
	}
	return m, nil
}

// Validate reports every required name that is empty and every name that
// is not a plain API name (letters, digits and underscores, starting with
// a letter). The second check also keeps mapping values from changing the
// shape of the SOQL the client builds.
func (m Mapping) Validate() error {
	var errs []error
	check := func(key, v string, optional bool) {
		switch {
		case v == "" && !optional:
			errs = append(errs, fmt.Errorf("mapping %s is required", key))
		case v != "" && !validName(v):
			errs = append(errs, fmt.Errorf("mapping %s: %q is not a Salesforce API name", key, v))
		}
	}
	a := m.Account
	check("account.object", a.Object, false)
	check("account.name", a.Name, false)
	check("account.phone", a.Phone, true)
	check("account.email", a.Email, true)
	check("account.street", a.Street, true)
	check("account.city", a.City, true)
	check("account.state", a.State, true)
	check("account.postal_code", a.PostalCode, true)
	check("account.country", a.Country, true)
	check("account.currency", a.Currency, true)
	check("account.policy", a.Policy, true)
	check("account.stripe_customer_id", a.StripeCustomerID, false)
	check("account.sync_error", a.SyncError, false)
	check("account.synced_at", a.SyncedAt, false)
	i := m.Invoice
	check("invoice.object", i.Object, false)
	check("invoice.number", i.Number, false)
	check("invoice.account", i.Account, false)
	check("invoice.amount", i.Amount, false)
	check("invoice.currency", i.Currency, true)
	check("invoice.due_date", i.DueDate, false)
	check("invoice.status", i.Status, false)
	check("invoice.auto_pay", i.AutoPay, false)
	check("invoice.amount_paid", i.AmountPaid, false)
	check("invoice.balance_due", i.BalanceDue, false)
	check("invoice.payment_link", i.PaymentLink, false)
	p := m.Payment
	check("payment.object", p.Object, false)
	check("payment.stripe_payment_id", p.StripePaymentID, false)
	check("payment.invoice", p.Invoice, false)
	check("payment.account", p.Account, false)
	check("payment.amount", p.Amount, false)
	check("payment.currency", p.Currency, true)
	check("payment.status", p.Status, false)
	check("payment.method", p.Method, false)
	check("payment.method_detail", p.MethodDetail, false)
	check("payment.amount_refunded", p.AmountRefunded, false)
	check("payment.paid_at", p.PaidAt, false)
	check("payment.receipt_number", p.ReceiptNumber, false)
	check("payment.failure_reason", p.FailureReason, false)
	check("payment.channel", p.Channel, false)
	if len(errs) > 0 {
		return stripesync.WrapError(stripesync.EINVALID, errors.Join(errs...), "invalid salesforce mapping")
	}
	return nil
}

// validName accepts Salesforce API names such as Name, Stripe_Id__c and
// ns__Field__c.
func validName(s string) bool {
	if s == "" || !isLetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isLetter(c) && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
