package stripesync

// Rollup is what an invoice's payments add up to.
type Rollup struct {
	Paid Money // settled: succeeded less refunded, in the invoice's currency
	// Pending is what is on its way but not paid yet: bank debits
	// processing, or awaiting the verification of their account.
	Pending Money
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
		if p.Status == PaymentProcessing || p.Status == PaymentAwaitingVerification {
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

// BalanceAfter is what was left to pay on inv right after p succeeded:
// the rollup of p and of the payments that had succeeded before it, told
// by their receipt numbers, which follow the order payments succeed in.
// payments are the invoice's, p among them.
// The ledger records it when it numbers p's receipt, so a receipt shows
// the balance of its own moment however the invoice changes later.
func BalanceAfter(inv Invoice, payments []Payment, p Payment) Money {
	var before []Payment
	for _, q := range payments {
		if q.ID == p.ID || (q.ReceiptNumber != "" && receiptNumberBefore(q.ReceiptNumber, p.ReceiptNumber)) {
			before = append(before, q)
		}
	}
	return RollUp(inv, before).Balance
}

// receiptNumberBefore orders receipt numbers ("R-000009" < "R-000010",
// and "R-999999" < "R-1000000" once the numbers outgrow their padding).
func receiptNumberBefore(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
