package stripesync

import (
	"context"
	"time"
)

// InvoiceMatch is an invoice as the staff console's search lists it.
type InvoiceMatch struct {
	ID          string // the CRM id
	Number      string // "INV-1001"
	AccountID   string
	AccountName string // "" when the ledger has no contact for the account
	Total       Money
	Balance     Money         // the rollup's balance
	Status      InvoiceStatus // the rollup's status
	DueDate     time.Time     // zero for none
}

// InvoiceSearch finds invoices for the staff console. Implemented by store.DB.
type InvoiceSearch interface {
	// SearchInvoices returns at most limit invoices (not deleted) whose number contains query, whose
	// account name contains query (both case-insensitive), or whose CRM id or account id
	// is query (a 15-character Salesforce id matches its 18-character form too). The query
	// is trimmed and matched literally (% and _ are no wildcards). Invoices whose number
	// or id is the query come first, then the others by due date, newest first (none
	// last), then by number. An empty query or a limit below 1 is EINVALID.
	SearchInvoices(ctx context.Context, query string, limit int) ([]InvoiceMatch, error)
}
