package web

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/stripesync/stripesync"
)

// pageNames are the templates in templates/, each rendered inside
// layout.html.
var pageNames = []string{"message", "pay", "pending", "portal"}

func parsePages() (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"money": func(m stripesync.Money) string { return m.Decimal() + " " + m.Currency },
		"date": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.Format("2 January 2006")
		},
	}
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// page is what every template gets: the business for the header and the
// page's own data.
type page struct {
	Business stripesync.Business
	Title    string
	Data     any
}

// titled is implemented by page data that names its page.
type titled interface{ title() string }

// render executes a page into a buffer first, so a template error becomes
// a clean 500 instead of half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data titled) {
	var buf bytes.Buffer
	err := h.pages[name].Execute(&buf, page{Business: h.cfg.Business, Title: data.title(), Data: data})
	if err != nil {
		h.cfg.Logger.Error("render page", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(buf.Bytes())
	}
}

// message is a page that only says something: a bad link, a paid
// invoice, an error.
type message struct {
	Title    string
	Text     string
	Invoice  *invoiceSummary
	Receipts []receiptLink
	// Back is a link to go on from here ("" for none).
	Back, BackLabel string
}

func (m message) title() string { return m.Title }

// invoiceSummary is the invoice block of the pay, pending and message
// pages.
type invoiceSummary struct {
	Number  string
	Due     time.Time
	Total   stripesync.Money
	Paid    stripesync.Money
	Pending stripesync.Money
	Balance stripesync.Money
	Status  stripesync.InvoiceStatus
}

func summarize(iv stripesync.InvoiceView) *invoiceSummary {
	return &invoiceSummary{
		Number: iv.Invoice.Number, Due: iv.Invoice.DueDate, Total: iv.Invoice.Total,
		Paid: iv.Rollup.Paid, Pending: iv.Rollup.Pending, Balance: iv.Rollup.Balance, Status: iv.Rollup.Status,
	}
}

// receiptLink is one payment as the pages list it.
type receiptLink struct {
	Date   time.Time
	Amount stripesync.Money
	Method string
	Status string // "Paid", "Processing", …
	URL    string // "" when there is no receipt (yet)
	Number string
}

// paymentRows lists an invoice's payments that count or are on their way.
func (h *Handler) paymentRows(ps []stripesync.Payment) []receiptLink {
	var rows []receiptLink
	for _, p := range ps {
		row := receiptLink{Date: p.Created, Amount: p.Amount, Method: p.MethodDetail, Number: p.ReceiptNumber}
		switch p.Status {
		case stripesync.PaymentSucceeded:
			row.Status, row.Date = "Paid", p.PaidAt
			if p.Refunded > 0 {
				row.Status = "Refunded " + stripesync.Money{Amount: p.Refunded, Currency: p.Amount.Currency}.Decimal()
			}
			if p.ReceiptNumber != "" {
				row.URL = h.cfg.ReceiptURL(p.ID)
			}
		case stripesync.PaymentAwaitingVerification:
			row.Status = "Waiting for the bank account to be verified"
		case stripesync.PaymentProcessing:
			row.Status = "Processing"
		default:
			continue
		}
		rows = append(rows, row)
	}
	return rows
}
