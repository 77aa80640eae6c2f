package receipts

import (
	"bytes"
	"strings"

	"codeberg.org/go-pdf/fpdf"
	"github.com/stripesync/stripesync"
)

// Page geometry in millimetres. The content box (170 × 257 mm) fits both
// A4 and US Letter, so the page prints unscaled on either paper.
const (
	pageMargin   = 20.0
	contentWidth = 170.0
	leftColumn   = 100.0 // business block; the title block takes the rest
	labelWidth   = 55.0  // details table: label column
	footerTop    = 250.0 // the footer starts here, well above the foot of a Letter page
)

// Colours, as RGB.
var (
	ink    = [3]int{33, 37, 41}
	muted  = [3]int{108, 117, 125}
	rule   = [3]int{206, 212, 218}
	accent = [3]int{25, 80, 140}
)

// Render draws r as a one-page A4 PDF receipt: the business, the title with
// the receipt number and date, the amount, who paid and how, the invoice and
// what is left on it, and a footer. It uses the PDF core fonts only (nothing
// embedded), so a receipt is a few kilobytes.
//
// Output is deterministic: the same Receipt always yields the same bytes
// (the document dates are r.PaidAt, resources are written in sorted order),
// so the PDF can be stored, compared and re-sent unchanged. Dates are shown
// in r.PaidAt's location; pass it in the business's zone. Amounts are
// shown as the ledger and the CRM keep them (Money.String): the exact
// decimal with the currency's own number of places, then the code
// ("25.00 USD", "5000 JPY", "1.250 KWD").
//
// Text is converted to Windows-1252, the core fonts' encoding, so "•" and
// "€" render; characters outside it print as ".". Lines too long for their
// column wrap, and what still does not fit ends in "…", so no input can push
// the layout onto a second page.
//
// Render returns EINVALID when r lacks a number, a business name, a valid
// currency or a payment time.
func Render(r stripesync.Receipt) ([]byte, error) {
	if err := validateReceipt(r); err != nil {
		return nil, err
	}
	d := newDocument(r)
	d.header(r)
	d.amount(r)
	d.billedTo(r)
	d.details(r)
	d.footer(r)
	var buf bytes.Buffer
	if err := d.pdf.Output(&buf); err != nil {
		return nil, stripesync.WrapError(stripesync.EINTERNAL, err, "render receipt %s", r.Number)
	}
	return buf.Bytes(), nil
}

func validateReceipt(r stripesync.Receipt) error {
	switch {
	case strings.TrimSpace(r.Number) == "":
		return stripesync.Errorf(stripesync.EINVALID, "receipt has no number")
	case strings.TrimSpace(r.Business.Name) == "":
		return stripesync.Errorf(stripesync.EINVALID, "receipt %s has no business name", r.Number)
	case r.PaidAt.IsZero():
		return stripesync.Errorf(stripesync.EINVALID, "receipt %s has no payment time", r.Number)
	}
	if _, err := stripesync.NormalizeCurrency(r.Amount.Currency); err != nil {
		return stripesync.WrapError(stripesync.EINVALID, err, "receipt %s", r.Number)
	}
	return nil
}

// document is one receipt being drawn: the PDF and the UTF-8 → cp1252
// translator its core fonts need. fpdf's translator reuses a buffer, so
// each document gets its own and Render stays safe for concurrent use.
type document struct {
	pdf *fpdf.Fpdf
	tr  func(string) string
}

func newDocument(r stripesync.Receipt) *document {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCompression(true)
	pdf.SetCatalogSort(true)
	pdf.SetCreationDate(r.PaidAt)
	pdf.SetModificationDate(r.PaidAt)
	pdf.SetProducer("stripesync", true)
	pdf.SetTitle("Receipt "+r.Number, true)
	pdf.SetAuthor(r.Business.Name, true)
	pdf.SetMargins(pageMargin, pageMargin, pageMargin)
	pdf.SetCellMargin(0) // text lines up with the rules
	pdf.SetAutoPageBreak(false, 0)
	pdf.AddPage()
	return &document{pdf: pdf, tr: pdf.UnicodeTranslatorFromDescriptor("")}
}

func (d *document) font(style string, size float64, color [3]int) {
	d.pdf.SetFont("Helvetica", style, size)
	d.pdf.SetTextColor(color[0], color[1], color[2])
}

// text writes s at the current position in a box of width w, wrapped to at
// most maxLines lines of height h, and moves below it.
func (d *document) text(s string, w, h float64, maxLines int, align string) {
	x := d.pdf.GetX()
	for _, line := range d.fit(s, w, maxLines) {
		d.pdf.SetX(x)
		d.pdf.CellFormat(w, h, line, "", 2, align, false, 0, "")
	}
}

// fit converts s to cp1252 and splits it into at most maxLines lines that
// fit width w in the current font; when s is longer, the last line is cut
// and ends in an ellipsis.
func (d *document) fit(s string, w float64, maxLines int) []string {
	b := []byte(d.tr(oneLine(s)))
	if len(b) == 0 {
		return nil
	}
	split := d.pdf.SplitLines(b, w)
	lines := make([]string, 0, min(len(split), maxLines))
	for _, l := range split[:min(len(split), maxLines)] {
		lines = append(lines, string(l))
	}
	if len(split) > maxLines {
		last := strings.TrimRight(lines[maxLines-1], " ")
		room := w - 2*d.pdf.GetCellMargin()
		const ellipsis = "\x85" // "…" in cp1252
		for last != "" && d.pdf.GetStringWidth(last+ellipsis) > room {
			last = strings.TrimRight(last[:len(last)-1], " ")
		}
		lines[maxLines-1] = last + ellipsis
	}
	return lines
}

// oneLine replaces control characters (newlines included) with spaces, so
// outside data can neither break a line nor end the PDF string early.
func oneLine(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return r < 0x20 || r == 0x7f || r == ' '
	}), " ")
}

// endSentence ends a sentence whose last word is s: with a full stop,
// unless s brings its own ("Seller Supplies Inc." must not read "Inc..").
func endSentence(s string) string {
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "?") {
		return s
	}
	return s + "."
}

// header draws the business (left) and the title block (right).
func (d *document) header(r stripesync.Receipt) {
	p := d.pdf
	p.SetXY(pageMargin, pageMargin)
	d.font("B", 16, ink)
	d.text(r.Business.Name, leftColumn, 7.5, 2, "L")
	p.Ln(1)
	d.font("", 9.5, muted)
	for _, line := range r.Business.Address[:min(len(r.Business.Address), 4)] {
		d.text(line, leftColumn, 4.6, 1, "L")
	}
	if r.Business.Email != "" {
		d.text(r.Business.Email, leftColumn, 4.6, 1, "L")
	}
	leftBottom := p.GetY()

	right := pageMargin + leftColumn + 5
	width := contentWidth - leftColumn - 5
	p.SetXY(right, pageMargin)
	d.font("B", 24, accent)
	d.text("Receipt", width, 10, 1, "R")
	p.SetX(right)
	d.font("", 10, ink)
	d.text(r.Number, width, 5, 1, "R")
	p.SetX(right)
	d.font("", 10, muted)
	d.text("Paid "+r.PaidAt.Format("2 January 2006"), width, 5, 1, "R")

	y := max(leftBottom, p.GetY()) + 6
	d.hline(y, 0.4)
	p.SetXY(pageMargin, y+8)
}

// amount draws the amount paid, large, with the date and method under it.
func (d *document) amount(r stripesync.Receipt) {
	p := d.pdf
	d.font("B", 8.5, muted)
	d.text("AMOUNT PAID", contentWidth, 5, 1, "L")
	d.font("B", 26, ink)
	d.text(r.Amount.String(), contentWidth, 12, 1, "L")
	d.font("", 10, muted)
	line := "Paid on " + r.PaidAt.Format("2 January 2006")
	if r.Method != "" {
		line += " with " + r.Method
	}
	d.text(line, contentWidth, 5, 2, "L")
	p.Ln(8)
}

// billedTo draws who paid.
func (d *document) billedTo(r stripesync.Receipt) {
	p := d.pdf
	d.font("B", 8.5, muted)
	d.text("BILLED TO", contentWidth, 5, 1, "L")
	d.font("B", 11, ink)
	d.text(r.CustomerName, contentWidth, 5.5, 2, "L")
	d.font("", 10, ink)
	d.text(r.CustomerEmail, contentWidth, 5, 1, "L")
	p.Ln(8)
}

// details draws the table of facts, one labelled row each.
func (d *document) details(r stripesync.Receipt) {
	rows := [][2]string{{"Receipt number", r.Number}}
	if r.InvoiceNumber != "" {
		rows = append(rows, [2]string{"Invoice number", r.InvoiceNumber})
	}
	rows = append(rows, [2]string{"Date paid", r.PaidAt.Format("2 January 2006, 15:04 MST")})
	if r.Method != "" {
		rows = append(rows, [2]string{"Payment method", r.Method})
	}
	rows = append(rows,
		[2]string{"Amount paid", r.Amount.String()},
		[2]string{"Balance left on invoice", formatBalance(r.BalanceLeft, r.Amount.Currency)},
	)
	p := d.pdf
	d.font("B", 8.5, muted)
	d.text("DETAILS", contentWidth, 5, 1, "L")
	p.Ln(1)
	d.hline(p.GetY(), 0.2)
	for _, row := range rows {
		top := p.GetY() + 2
		p.SetXY(pageMargin, top)
		d.font("", 10, muted)
		d.text(row[0], labelWidth, 5.5, 1, "L")
		p.SetXY(pageMargin+labelWidth, top)
		d.font("", 10, ink)
		d.text(row[1], contentWidth-labelWidth, 5.5, 2, "R")
		p.SetY(p.GetY() + 2)
		d.hline(p.GetY(), 0.2)
	}
}

// footer thanks the customer and says whom to ask, at the foot of the page.
func (d *document) footer(r stripesync.Receipt) {
	p := d.pdf
	d.hline(footerTop-3, 0.2)
	p.SetXY(pageMargin, footerTop)
	d.font("", 8.5, muted)
	msg := "Thank you for your payment. This receipt confirms a payment received by " + endSentence(r.Business.Name)
	if r.Business.Email != "" {
		msg += " Questions? Contact " + endSentence(r.Business.Email)
	}
	d.text(msg, contentWidth, 4.2, 3, "L")
	if r.PaymentID != "" {
		d.text("Payment reference "+r.PaymentID, contentWidth, 4.2, 1, "L")
	}
}

// hline draws a rule across the content width at y.
func (d *document) hline(y, width float64) {
	d.pdf.SetDrawColor(rule[0], rule[1], rule[2])
	d.pdf.SetLineWidth(width)
	d.pdf.Line(pageMargin, y, pageMargin+contentWidth, y)
}

// formatBalance says what is left on the invoice; an unset currency is the
// payment's, and a negative balance is the credit an overpayment left.
func formatBalance(m stripesync.Money, currency string) string {
	if m.Currency == "" {
		m.Currency = currency
	}
	switch {
	case m.Amount == 0:
		return m.String() + " (paid in full)"
	case m.Amount < 0:
		return strings.TrimPrefix(m.String(), "-") + " in credit"
	}
	return m.String()
}
