package stripesync

// Rollup is what an invoice's payments add up to.
type Rollup struct {
	Paid    Money // settled: succeeded less refunded, in the invoice's currency
	Pending Money // processing (ACH in flight): not paid yet
	Balance Money // total − paid, never below zero
	Credit  Money // paid beyond the total: recorded, never lost
	// Status is the invoice status the payments imply. Draft and Void
	// invoices keep their status.
	Status InvoiceStatus
	// Mismatched lists payments whose currency differs from the invoice's.
	// They are flagged for a person, never summed.
	Mismatched []string
}

// RollUp computes an invoice's rollup from its payments. It is pure, so the
// ledger can run it inside the transaction that records a payment.
func RollUp(inv Invoice, payments []Payment) Rollup {
	cur := inv.Total.Currency
	r := Rollup{
		Paid:    Money{Currency: cur},
		Pending: Money{Currency: cur},
		Balance: Money{Currency: cur},
		Credit:  Money{Currency: cur},
	}
	for _, p := range payments {
		if p.Amount.Currency != cur {
			r.Mismatched = append(r.Mismatched, p.ID)
			continue
		}
		r.Paid.Amount += p.Settled()
		if p.Status == PaymentProcessing {
			r.Pending.Amount += p.Amount.Amount
		}
	}
	switch diff := inv.Total.Amount - r.Paid.Amount; {
	case diff > 0:
		r.Balance.Amount = diff
	case diff < 0:
		r.Credit.Amount = -diff
	}
	switch {
	case inv.Status == InvoiceDraft || inv.Status == InvoiceVoid:
		r.Status = inv.Status
	case r.Paid.Amount <= 0:
		r.Status = InvoiceOpen
	case r.Balance.Amount > 0:
		r.Status = InvoicePartiallyPaid
	default:
		r.Status = InvoicePaid
	}
	return r
}
