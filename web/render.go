package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"time"

	"github.com/stripesync/stripesync"
)

// pageNames are the templates in templates/, each rendered inside
// layout.html.
var pageNames = []string{"message", "pay", "pending", "portal"}

// Funcs are the template functions every page of the daemon's uses, the
// staff console's too, so that amounts and dates read the same
// everywhere: money prints "25.00 USD", date "2 January 2006" (or "—").
func Funcs() template.FuncMap {
	return template.FuncMap{
		"money": stripesync.Money.String,
		"date": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.Format("2 January 2006")
		},
	}
}

func parsePages() (map[string]*template.Template, error) {
	pages, err := ParsePages(templateFS, []string{"templates/layout.html", "templates/partials.html"}, pageNames)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	return pages, nil
}

// ParsePages parses each templates/<name>.html of fsys with the common
// files (the layout first, whose name the template takes) and Funcs: one
// template a page, so that every page defines its own "content". The
// staff console's pages are built the same way.
func ParsePages(fsys fs.FS, common, names []string) (map[string]*template.Template, error) {
	pages := make(map[string]*template.Template, len(names))
	for _, name := range names {
		files := append(slices.Clip(common), "templates/"+name+".html")
		t, err := template.New(path.Base(common[0])).Funcs(Funcs()).ParseFS(fsys, files...)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", name, err)
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

// render writes a page (WritePage), logging a template error.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data titled) {
	if err := WritePage(w, r, status, h.pages[name], page{Business: h.cfg.Business, Title: data.title(), Data: data}); err != nil {
		h.cfg.Logger.Error("render page", "page", name, "error", err)
	}
}

// WritePage answers with t executed on data. It renders into a buffer
// first, so that a template error becomes a clean 500 instead of half a
// page; the error is returned for the caller to log.
func WritePage(w http.ResponseWriter, r *http.Request, status int, t *template.Template, data any) error {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
	return nil
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
