package receipts

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/internal/golden"
	"github.com/stripesync/stripesync/receipts/pdftext"
)

// sampleReceipt is the receipt of the golden file: a partial card payment.
func sampleReceipt() stripesync.Receipt {
	return stripesync.Receipt{
		Number:    "R-000042",
		PaymentID: "pi_3PqRsTuVwXyZ0123456789ab",
		Business: stripesync.Business{
			Name:    "Harbour Plumbing & Heating Ltd",
			Address: []string{"12 Quay Street", "Portsmouth PO1 3AA", "United Kingdom"},
			Email:   "accounts@harbourplumbing.example",
		},
		CustomerName:  "Jane Doe",
		CustomerEmail: "jane.doe@example.com",
		InvoiceNumber: "INV-2026-0042",
		Amount:        stripesync.Money{Amount: 2500, Currency: "USD"},
		Method:        "Visa •••• 4242",
		PaidAt:        time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC),
		BalanceLeft:   stripesync.Money{Amount: 7500, Currency: "USD"},
	}
}

func TestRenderShowsTheFacts(t *testing.T) {
	pdf, err := Render(sampleReceipt())
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	doc := readPDF(t, pdf)
	if doc.Pages != 1 {
		t.Errorf("pages = %d, want 1", doc.Pages)
	}
	text := doc.Text()
	for _, want := range []string{
		"Harbour Plumbing & Heating Ltd", "12 Quay Street", "Portsmouth PO1 3AA",
		"accounts@harbourplumbing.example",
		"Receipt", "R-000042", "14 March 2026, 15:09 UTC",
		"Jane Doe", "jane.doe@example.com", "INV-2026-0042",
		"25.00 USD", "Visa •••• 4242", "75.00 USD",
		"Thank you for your payment.", "pi_3PqRsTuVwXyZ0123456789ab",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("receipt text lacks %q; text:\n%s", want, text)
		}
	}
	if len(pdf) >= 30<<10 {
		t.Errorf("receipt is %d bytes, want < 30 KB", len(pdf))
	}
}

func TestRenderAmounts(t *testing.T) {
	for _, tc := range []struct {
		name           string
		amount, left   stripesync.Money
		wantAmt, wantL string
	}{
		{"USD", money(2500, "USD"), money(7500, "USD"), "25.00 USD", "75.00 USD"},
		{"JPYZeroDecimal", money(5000, "JPY"), money(120000, "JPY"), "5000 JPY", "120000 JPY"},
		{"KWDThreeDecimal", money(1250, "KWD"), money(10, "KWD"), "1.250 KWD", "0.010 KWD"},
		{"PaidInFull", money(99999999, "EUR"), money(0, "EUR"), "999999.99 EUR", "0.00 EUR (paid in full)"},
		{"BalanceWithoutCurrency", money(50, "GBP"), stripesync.Money{}, "0.50 GBP", "0.00 GBP (paid in full)"},
		{"Overpaid", money(10000, "USD"), money(-1500, "USD"), "100.00 USD", "15.00 USD in credit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := sampleReceipt()
			r.Amount, r.BalanceLeft = tc.amount, tc.left
			pdf, err := Render(r)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			got := rowValues(readPDF(t, pdf))
			if got["Amount paid"] != tc.wantAmt || got["Balance left on invoice"] != tc.wantL {
				t.Errorf("amount row = %q, balance row = %q; want %q, %q",
					got["Amount paid"], got["Balance left on invoice"], tc.wantAmt, tc.wantL)
			}
		})
	}
}

// TestRenderOptionalFields: a payment that matched no invoice, or whose
// method is unknown, has no such row rather than an empty one.
func TestRenderOptionalFields(t *testing.T) {
	r := sampleReceipt()
	r.InvoiceNumber, r.Method, r.PaymentID, r.Business.Email = "", "", "", ""
	r.Business.Address = nil
	pdf, err := Render(r)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	doc := readPDF(t, pdf)
	rows := rowValues(doc)
	for _, label := range []string{"Invoice number", "Payment method"} {
		if v, ok := rows[label]; ok {
			t.Errorf("row %q = %q, want no such row", label, v)
		}
	}
	if text := doc.Text(); strings.Contains(text, "Payment reference") || strings.Contains(text, " with ") {
		t.Errorf("receipt mentions a missing fact:\n%s", text)
	}
}

// TestRenderLongTextKeepsLayout feeds text far longer than its column, and
// text that is hostile to a PDF string, and checks that everything is
// drawn inside the content box of one page (one that also fits US Letter),
// that no two runs overlap, and that long text ends in an ellipsis.
func TestRenderLongTextKeepsLayout(t *testing.T) {
	long := strings.Repeat("Wolfeschlegelsteinhausenbergerdorff ", 12)
	r := sampleReceipt()
	r.Business.Name = long
	r.Business.Address = []string{long, "Line two", "Line three", "Line four", "Line five is dropped"}
	r.Business.Email = strings.Repeat("x", 200) + "@example.com"
	r.CustomerName = strings.Repeat("Åsa-Maria Ölund-Żółć ", 20)
	r.CustomerEmail = strings.Repeat("verylong", 40) + "@example.com"
	r.InvoiceNumber = strings.Repeat("INV", 100) // no spaces: must break inside the word
	r.Method = "Visa (debit) \\ •••• 4242\n\r\tsecond line 日本語 🙂"
	pdf, err := Render(r)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	doc := readPDF(t, pdf)
	if doc.Pages != 1 {
		t.Fatalf("pages = %d, want 1", doc.Pages)
	}
	const mm = 72 / 25.4
	const (
		left, right = pageMargin * mm, (pageMargin + contentWidth) * mm
		top         = 841.89 - pageMargin*mm + 1 // A4 height, top margin (plus ascender room)
		bottom      = 841.89 - (279.4-10)*mm     // 10 mm above the foot of a Letter page
	)
	type box struct {
		run                   pdftext.Run
		x0, x1, yBottom, yTop float64
	}
	var boxes []box
	for _, run := range doc.Runs {
		w := stringWidth(t, run)
		b := box{run, run.X, run.X + w, run.Y - 0.25*run.FontSize, run.Y + 0.75*run.FontSize}
		if b.x0 < left-0.01 || b.x1 > right+0.01 || b.yTop > top || b.yBottom < bottom {
			t.Errorf("run %q at (%.1f–%.1f, %.1f–%.1f) leaves the content box (%.1f–%.1f, %.1f–%.1f)",
				run.Text, b.x0, b.x1, b.yBottom, b.yTop, left, right, bottom, top)
		}
		boxes = append(boxes, b)
	}
	for i, a := range boxes {
		for _, b := range boxes[i+1:] {
			if a.x0 < b.x1 && b.x0 < a.x1 && a.yBottom < b.yTop && b.yBottom < a.yTop {
				t.Errorf("runs overlap: %q and %q", a.run.Text, b.run.Text)
			}
		}
	}
	text := doc.Text()
	for _, want := range []string{"Wolfeschlegelsteinhausenbergerdorff…", "Åsa-Maria Ölund-.ó..…", "Visa (debit) \\ •••• 4242 second line ... .", "Line four"} {
		if !strings.Contains(text, want) {
			t.Errorf("receipt text lacks %q; text:\n%s", want, text)
		}
	}
	if strings.Contains(text, "Line five") {
		t.Errorf("a fifth address line was drawn; text:\n%s", text)
	}
	// The invoice number has no space to break at: it is cut inside the
	// word onto a second line, which ends in an ellipsis.
	if !regexp.MustCompile(`\n[INV]+…\n`).MatchString(text) {
		t.Errorf("no cut INVINV… line in the receipt text:\n%s", text)
	}
}

func TestRenderRejectsIncompleteReceipts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*stripesync.Receipt)
	}{
		{"ErrNoNumber", func(r *stripesync.Receipt) { r.Number = " " }},
		{"ErrNoBusiness", func(r *stripesync.Receipt) { r.Business.Name = "" }},
		{"ErrNoPaidAt", func(r *stripesync.Receipt) { r.PaidAt = time.Time{} }},
		{"ErrBadCurrency", func(r *stripesync.Receipt) { r.Amount.Currency = "US" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := sampleReceipt()
			tc.change(&r)
			pdf, err := Render(r)
			if got := stripesync.CodeOf(err); got != stripesync.EINVALID || pdf != nil {
				t.Errorf("Render = %d bytes, %v (code %q); want nil, EINVALID", len(pdf), err, got)
			}
		})
	}
}

// TestRenderGolden pins the exact bytes: the same receipt must always give
// the same file (so a stored or re-sent receipt never changes). Run with
// -update after an intended change and look at the new file.
func TestRenderGolden(t *testing.T) {
	got, err := Render(sampleReceipt())
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	path := filepath.Join("testdata", "receipt.golden.pdf")
	if *golden.Update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		if diff := cmp.Diff(readPDF(t, want).Text(), readPDF(t, got).Text()); diff != "" {
			t.Errorf("receipt text differs from %s (-want +got):\n%s", path, diff)
		}
		t.Errorf("receipt bytes differ from %s (%d bytes, want %d); run with -update if intended", path, len(got), len(want))
	}
}

// TestRenderConcurrent renders from many goroutines at once; under -race
// this proves no state is shared between renders, and every copy must be
// identical.
func TestRenderConcurrent(t *testing.T) {
	want, err := Render(sampleReceipt())
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	var wg sync.WaitGroup
	results := make([][]byte, 8)
	for i := range results {
		wg.Go(func() {
			results[i], _ = Render(sampleReceipt())
		})
	}
	wg.Wait()
	for i, got := range results {
		if !bytes.Equal(got, want) {
			t.Errorf("render %d differs from the first", i)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	r := sampleReceipt()
	var size int
	for b.Loop() {
		pdf, err := Render(r)
		if err != nil {
			b.Fatal(err)
		}
		size = len(pdf)
	}
	b.ReportMetric(float64(size), "pdf-bytes")
}

func money(amount int64, currency string) stripesync.Money {
	return stripesync.Money{Amount: amount, Currency: currency}
}

// rowValues reads the details table back: each label run and the run on
// the same baseline to its right (the first line of the value).
func rowValues(doc pdftext.Doc) map[string]string {
	labels := []string{"Receipt number", "Invoice number", "Date paid", "Payment method", "Amount paid", "Balance left on invoice"}
	rows := map[string]string{}
	for _, l := range doc.Runs {
		if !slices.Contains(labels, l.Text) {
			continue
		}
		for _, v := range doc.Runs {
			if v.Y == l.Y && v.X > l.X {
				rows[l.Text] = v.Text
			}
		}
	}
	return rows
}

// stringWidth measures run in points with the same font metrics the PDF
// viewer will use.
func stringWidth(t testing.TB, run pdftext.Run) float64 {
	t.Helper()
	style := ""
	switch run.Font {
	case "Helvetica":
	case "Helvetica-Bold":
		style = "B"
	default:
		t.Fatalf("unexpected font %s", run.Font)
	}
	p := fpdf.New("P", "pt", "A4", "")
	p.SetFont("Helvetica", style, run.FontSize)
	return p.GetStringWidth(run.Raw)
}

// readPDF reads the text of pdf, or fails the test.
func readPDF(t testing.TB, pdf []byte) pdftext.Doc {
	t.Helper()
	doc, err := pdftext.Read(pdf)
	if err != nil {
		t.Fatalf("read PDF: %v", err)
	}
	return doc
}
