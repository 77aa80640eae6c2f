package httpapi

import (
	"net/http"
	"time"

	"github.com/stripesync/stripesync"
)

// InvoiceDetail is everything staff see of an invoice.
type InvoiceDetail struct {
	View    stripesync.InvoiceView
	Methods []stripesync.SavedMethod // the customer's, usable on this invoice
	Actions []stripesync.StaffAction // the audit trail, oldest first
}

// invoiceJSON is the answer of GET /v1/invoices/{id}. Amounts are decimal
// strings in the invoice's currency, as the API takes them.
type invoiceJSON struct {
	ID       string `json:"id"`
	Number   string `json:"number"`
	Status   string `json:"status"`
	Currency string `json:"currency"`
	Total    string `json:"total"`
	Paid     string `json:"paid"`
	Pending  string `json:"pending"`
	Balance  string `json:"balance"`
	// Payable is what can be paid now: the balance less pending debits
	// and payments in progress.
	Payable      string          `json:"payable"`
	DueDate      string          `json:"due_date,omitempty"`
	PaymentLink  string          `json:"payment_link,omitempty"`
	Payments     []paymentJSON   `json:"payments"`
	SavedMethods []methodJSON    `json:"saved_methods"`
	Audit        []staffActionJS `json:"audit"`
}

type paymentJSON struct {
	ID         string `json:"id"`
	Amount     string `json:"amount"`
	Status     string `json:"status"`
	Channel    string `json:"channel,omitempty"`
	Method     string `json:"method,omitempty"`
	ReceiptURL string `json:"receipt_url,omitempty"`
}

type methodJSON struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Label   string `json:"label"`
	Default bool   `json:"default"`
}

type staffActionJS struct {
	At        time.Time `json:"at"`
	Staff     string    `json:"staff"`
	Action    string    `json:"action"`
	PaymentID string    `json:"payment_id,omitempty"`
	Outcome   string    `json:"outcome"`
	Detail    string    `json:"detail,omitempty"`
}

// handleInvoice serves GET /v1/invoices/{id}.
func (s *Server) handleInvoice(w http.ResponseWriter, r *http.Request) {
	d, err := s.payments.View(r.Context(), r.PathValue("id"), staffOf(r))
	if err != nil {
		WriteError(w, r, s.logger, err)
		return
	}
	inv, roll := d.View.Invoice, d.View.Rollup
	out := invoiceJSON{
		ID: inv.ID, Number: inv.Number, Status: string(roll.Status), Currency: inv.Total.Currency,
		Total: inv.Total.Decimal(), Paid: roll.Paid.Decimal(), Pending: roll.Pending.Decimal(),
		Balance: roll.Balance.Decimal(), Payable: d.View.Payable.Decimal(), PaymentLink: inv.PaymentLink,
		Payments: []paymentJSON{}, SavedMethods: []methodJSON{}, Audit: []staffActionJS{},
	}
	if !inv.DueDate.IsZero() {
		out.DueDate = inv.DueDate.Format(time.DateOnly)
	}
	for _, p := range d.View.Payments {
		pj := paymentJSON{ID: p.ID, Amount: p.Amount.Decimal(), Status: p.CRMStatus(), Channel: p.Channel, Method: p.MethodDetail}
		if p.ReceiptNumber != "" && s.payments.ReceiptURL != nil {
			pj.ReceiptURL = s.payments.ReceiptURL(p.ID)
		}
		out.Payments = append(out.Payments, pj)
	}
	for _, m := range d.Methods {
		out.SavedMethods = append(out.SavedMethods, methodJSON{ID: m.ID, Type: m.Type, Label: m.Label(), Default: m.Default})
	}
	for _, a := range d.Actions {
		out.Audit = append(out.Audit, staffActionJS{At: a.At.UTC(), Staff: a.Staff, Action: a.Action, PaymentID: a.PaymentID, Outcome: a.Outcome, Detail: a.Detail})
	}
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, http.StatusOK, out)
}
