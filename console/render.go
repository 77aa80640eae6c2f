package console

import (
	"fmt"
	"html/template"
	"net/http"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/httpapi"
	"github.com/stripesync/stripesync/web"
)

// pageNames are the templates in templates/, each rendered inside
// layout.html.
var pageNames = []string{"message", "reload", "signin", "search", "invoice", "failures", "status"}

func parsePages() (map[string]*template.Template, error) {
	pages, err := web.ParsePages(templateFS, []string{"templates/layout.html"}, pageNames)
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	return pages, nil
}

// page is what every template gets: the business, who is signed in (""
// on the sign-in and error pages) with the CSRF token of the sign-out
// form, and the page's own data.
type page struct {
	Business stripesync.Business
	Title    string
	Staff    string
	CSRF     string
	// Failures and StatusPage show those pages in the navigation.
	Failures   bool
	StatusPage bool
	Data       any
}

// titled is implemented by page data that names its page.
type titled interface{ title() string }

// render executes a page for no one signed in.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, data titled) {
	h.execute(w, r, status, name, page{Business: h.cfg.Business, Title: data.title(), Data: data})
}

// renderStaff executes a page for the session's staff member.
func (h *Handler) renderStaff(w http.ResponseWriter, r *http.Request, status int, name string, s session, data titled) {
	h.execute(w, r, status, name, page{Business: h.cfg.Business, Title: data.title(), Staff: s.Staff, CSRF: s.CSRF,
		Failures: h.cfg.Failures != nil, StatusPage: h.cfg.Status != nil, Data: data})
}

// execute writes a page (web.WritePage), logging a template error.
func (h *Handler) execute(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	if err := web.WritePage(w, r, status, h.pages[name], p); err != nil {
		h.cfg.Logger.Error("render console page", "page", name, "error", err)
	}
}

// message is a page that only says something.
type message struct {
	Title, Text     string
	Back, BackLabel string // a link to go on from here ("" for none)
}

func (m message) title() string { return m.Title }

// reloadPage reloads URL from this site (see signedOut).
type reloadPage struct{ URL string }

func (reloadPage) title() string { return "Opening the console" }

// searchData is the search page.
type searchData struct {
	Query, Notice, Error string
	Searched             bool
	Results              []stripesync.InvoiceMatch
	More                 bool // the list was cut at searchLimit
}

func (searchData) title() string { return "Find an invoice" }

// invoiceData is the invoice page.
type invoiceData struct {
	Detail      httpapi.InvoiceDetail
	AccountName string
	State       formState
	// TopError is State.Error when its form is not on the page.
	TopError string
	// Chosen is the saved method checked when the page opens.
	Chosen string
	// Key is the idempotency key of the payment and link forms, new on
	// every render.
	Key           string
	Payments      []paymentRow
	Verifications []verificationRow
	CanPay        bool
	BankAllowed   bool
	CanSendLink   bool
	Card          *cardConfig // nil: no publishable key, no card form
}

func (d invoiceData) title() string { return "Invoice " + d.Detail.View.Invoice.Number }

// paymentRow is one payment as the invoice page lists it.
type paymentRow struct {
	stripesync.Payment
	Status     string
	ReceiptURL string
}

// verificationRow is a bank account whose micro-deposits staff can enter.
type verificationRow struct {
	PaymentMethodID string
	Payment         stripesync.Payment
	Account         string // the account as people read it: "STRIPE TEST BANK •••• 6789"
}

// cardConfig starts Stripe.js on the card form.
type cardConfig struct {
	JSURL, Key, Account string
	Currency            string // lower case, as Stripe.js takes it
	Amount              int64  // the payable amount in minor units, for the Payment Element
}
