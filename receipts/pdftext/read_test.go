package pdftext_test

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/receipts"
	"github.com/stripesync/stripesync/receipts/pdftext"
)

func renderReceipt(t testing.TB) []byte {
	t.Helper()
	pdf, err := receipts.Render(stripesync.Receipt{
		Number:        "R-000042",
		PaymentID:     "pi_3PqRsTuVwXyZ0123456789ab",
		Business:      stripesync.Business{Name: "Café Ørsted & Co", Address: []string{"1 Quay Street"}},
		CustomerName:  "Zoë Ångström",
		InvoiceNumber: "INV-2026-0042",
		Amount:        stripesync.Money{Amount: 2500, Currency: "USD"},
		Method:        "Visa •••• 4242",
		PaidAt:        time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC),
		BalanceLeft:   stripesync.Money{Amount: 7500, Currency: "USD"},
	})
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return pdf
}

// TestReadRenderedReceipt reads what receipts.Render writes (FlateDecode,
// Helvetica in WinAnsiEncoding) back to the facts on the page.
func TestReadRenderedReceipt(t *testing.T) {
	doc, err := pdftext.Read(renderReceipt(t))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if doc.Pages != 1 {
		t.Errorf("pages = %d, want 1", doc.Pages)
	}
	text := doc.Text()
	for _, want := range []string{
		"Café Ørsted & Co", "R-000042", "Zoë Ångström", "Visa •••• 4242",
		"\nAmount paid 25.00 USD\n", "\nBalance left on invoice 75.00 USD\n", "pi_3PqRsTuVwXyZ0123456789ab",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q; text:\n%s", want, text)
		}
	}
	const a4W, a4H = 595.28, 841.89
	for _, r := range doc.Runs {
		if r.Page != 1 || r.X < 0 || r.X > a4W || r.Y < 0 || r.Y > a4H || r.FontSize <= 0 ||
			(r.Font != "Helvetica" && r.Font != "Helvetica-Bold") {
			t.Errorf("run %+v: want page 1, on an A4 page, in Helvetica", r)
		}
	}
}

// page is the body of a page's content stream object: content,
// uncompressed, with its /Length.
func page(content string) string {
	return fmt.Sprintf("<</Length %d>>\nstream\n%s\nendstream", len(content), content)
}

// flatePage is page with its content compressed as fpdf does.
func flatePage(content string) string {
	return fmt.Sprintf("<</Filter /FlateDecode /Length %d>>\nstream\n%s\nendstream", len(deflate(content)), deflate(content))
}

func deflate(s string) []byte {
	var b bytes.Buffer
	zw := zlib.NewWriter(&b)
	zw.Write([]byte(s))
	zw.Close()
	return b.Bytes()
}

// handPDF lays pages (content stream objects) out as fpdf does, with
// fonts /F1 Helvetica and /F2 Helvetica-Bold in WinAnsiEncoding, and /F3
// Symbol in its built-in encoding.
func handPDF(pages ...string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.3\n")
	var kids strings.Builder
	for i, p := range pages {
		obj := 3 + 2*i
		fmt.Fprintf(&b, "%d 0 obj\n<</Type /Page\n/Parent 1 0 R\n/Resources 2 0 R\n/Contents %d 0 R>>\nendobj\n", obj, obj+1)
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", obj+1, p)
		fmt.Fprintf(&kids, "%d 0 R ", obj)
	}
	fmt.Fprintf(&b, "1 0 obj\n<</Type /Pages\n/Kids [%s]\n/Count %d\n/MediaBox [0 0 595.28 841.89]\n>>\nendobj\n", kids.String(), len(pages))
	f := 3 + 2*len(pages)
	fmt.Fprintf(&b, "%d 0 obj\n<</Type /Font\n/BaseFont /Helvetica\n/Subtype /Type1\n/Encoding /WinAnsiEncoding\n>>\nendobj\n", f)
	fmt.Fprintf(&b, "%d 0 obj\n<</Type /Font\n/BaseFont /Helvetica-Bold\n/Subtype /Type1\n/Encoding /WinAnsiEncoding\n>>\nendobj\n", f+1)
	fmt.Fprintf(&b, "%d 0 obj\n<</Type /Font\n/BaseFont /Symbol\n/Subtype /Type1\n>>\nendobj\n", f+2)
	fmt.Fprintf(&b, "2 0 obj\n<<\n/Font <<\n/F1 %d 0 R\n/F2 %d 0 R\n/F3 %d 0 R\n>>\n>>\nendobj\n", f, f+1, f+2)
	b.WriteString("trailer\n<<\n/Size 9\n>>\n%%EOF\n")
	return b.Bytes()
}

// firstPage exercises every construct Read interprets: fonts kept across
// BT and restored by Q, Td relative within BT, string escapes (octal
// WinAnsi bytes, parentheses, line continuation), operators that draw no
// text, and a cm that Q undoes.
const firstPage = `0 J 0 j 0.57 w 0.000 G 0.000 g
BT /F2 16.00 Tf ET
q 0.129 0.145 0.161 rg BT 56.69 769.77 Td (Harbour \(Plumbing\) \\ Co)Tj ET Q
BT /F1 9.50 Tf ET
q BT 10 700 Td (a)Tj 5 -12.5 Td (b\225c\200)Tj ET Q
q /F2 12 Tf Q
BT 10 700 Td (same line)Tj 100 0 Td (second run)Tj ET
BT 0 0 Td (\101\102\1034 (octal))Tj ET
0.808 0.831 0.855 RG 1.13 w 56.69 691.94 m 538.58 691.94 l S 10 10 50 50 re f
q 2 0 0 2 0 0 cm Q
BT +1 -.5 Td (after cm, \
continued)Tj ET`

func TestReadContent(t *testing.T) {
	doc, err := pdftext.Read(handPDF(page(firstPage), flatePage("BT /F1 10 Tf 72 72 Td (page two)Tj ET")))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	want := pdftext.Doc{Pages: 2, Runs: []pdftext.Run{
		{Page: 1, Text: `Harbour (Plumbing) \ Co`, Raw: `Harbour (Plumbing) \ Co`, X: 56.69, Y: 769.77, Font: "Helvetica-Bold", FontSize: 16},
		{Page: 1, Text: "a", Raw: "a", X: 10, Y: 700, Font: "Helvetica", FontSize: 9.5},
		{Page: 1, Text: "b•c€", Raw: "b\x95c\x80", X: 15, Y: 687.5, Font: "Helvetica", FontSize: 9.5},
		{Page: 1, Text: "same line", Raw: "same line", X: 10, Y: 700, Font: "Helvetica", FontSize: 9.5},
		{Page: 1, Text: "second run", Raw: "second run", X: 110, Y: 700, Font: "Helvetica", FontSize: 9.5},
		{Page: 1, Text: "ABC4 (octal)", Raw: "ABC4 (octal)", X: 0, Y: 0, Font: "Helvetica", FontSize: 9.5},
		{Page: 1, Text: "after cm, continued", Raw: "after cm, continued", X: 1, Y: -0.5, Font: "Helvetica", FontSize: 9.5},
		{Page: 2, Text: "page two", Raw: "page two", X: 72, Y: 72, Font: "Helvetica", FontSize: 10},
	}}
	if diff := cmp.Diff(want, doc); diff != "" {
		t.Errorf("Read (-want +got):\n%s", diff)
	}
	wantText := "Harbour (Plumbing) \\ Co\na\nb•c€\nsame line second run\nABC4 (octal)\nafter cm, continued\npage two\n"
	if got := doc.Text(); got != wantText {
		t.Errorf("Text() = %q, want %q", got, wantText)
	}
	if got := (pdftext.Doc{}).Text(); got != "" {
		t.Errorf("empty Doc's Text() = %q, want empty", got)
	}
}

// TestReadErrors: input Read does not understand is an error naming the
// problem, never a panic and never a partial Doc.
func TestReadErrors(t *testing.T) {
	text := func(content string) []byte { return handPDF(page(content)) }
	withStream := func(obj string) []byte { return handPDF(obj) }
	valid := text("BT /F1 10 Tf (a)Tj ET")
	corrupt := deflate("BT /F1 10 Tf (a)Tj ET")
	corrupt[len(corrupt)-1] ^= 0xFF // the Adler-32 checksum
	for _, tc := range []struct {
		name string
		pdf  []byte
		want string
	}{
		{"ErrEmpty", nil, "not a PDF"},
		{"ErrNotPDF", []byte("<html><body>Receipt</body></html>"), "not a PDF"},
		{"ErrNoPageTree", []byte("%PDF-1.3\n%%EOF\n"), "no page tree"},
		{"ErrPageCount", bytes.Replace(valid, []byte("/Count 1"), []byte("/Count 2"), 1), "counts 2 pages, file has 1"},
		{"ErrHugePageCount", bytes.Replace(valid, []byte("/Count 1"), []byte("/Count 99999999999999999999"), 1), "page count"},
		{"ErrNoContentObject", bytes.Replace(valid, []byte("/Contents 4 0 R"), []byte("/Contents 99 0 R"), 1), "object 99 not found"},
		{"ErrNoLength", withStream("<<>>\nstream\nBT ET\nendstream"), "no /Length"},
		{"ErrIndirectLength", withStream("<</Length 9 0 R>>\nstream\nBT ET\nendstream"), "indirect /Length"},
		{"ErrLengthPastEOF", withStream("<</Length 99999>>\nstream\nBT ET\nendstream"), "past the end"},
		{"ErrHugeLength", withStream("<</Length 99999999999999999999>>\nstream\nBT ET\nendstream"), "past the end"},
		{"ErrNoEndstream", withStream("<</Length 2>>\nstream\nBT ET\nendstream"), "no endstream"},
		{"ErrUnknownFilter", withStream("<</Filter /LZWDecode /Length 5>>\nstream\nBT ET\nendstream"), "filter /LZWDecode"},
		{"ErrFilterArray", withStream("<</Filter [/FlateDecode] /Length 5>>\nstream\nBT ET\nendstream"), "filter ["},
		{"ErrNotZlib", withStream("<</Filter /FlateDecode /Length 5>>\nstream\nBT ET\nendstream"), "inflate"},
		{"ErrChecksum", withStream(fmt.Sprintf("<</Filter /FlateDecode /Length %d>>\nstream\n%s\nendstream", len(corrupt), corrupt)), "inflate"},
		{"ErrInflatesTooFar", handPDF(flatePage(strings.Repeat(" ", 5<<20))), "inflates to more than"},
		{"ErrUnknownFont", text("BT /F9 10 Tf (a)Tj ET"), "font /F9"},
		{"ErrNotWinAnsi", text("BT /F3 10 Tf (a)Tj ET"), "Symbol, which is not in WinAnsiEncoding"},
		{"ErrTjBeforeTf", text("BT (a)Tj ET"), "Tj before any Tf"},
		{"ErrTjOutsideBT", text("/F1 10 Tf (a)Tj"), "Tj outside BT"},
		{"ErrTdOutsideBT", text("/F1 10 Tf 1 1 Td"), "Td outside BT"},
		{"ErrTfNoOperands", text("BT Tf ET"), "Tf has 0 operands, wants 2"},
		{"ErrTfOperandKinds", text("BT 10 /F1 Tf ET"), "Tf operand 1 is a number, wants a name"},
		{"ErrTdOneOperand", text("BT /F1 10 Tf 5 Td ET"), "Td has 1 operands, wants 2"},
		{"ErrTdOverflows", text("BT /F1 10 Tf 1" + strings.Repeat("0", 308) + " 0 Td 1" + strings.Repeat("0", 308) + " 0 Td ET"), "off any page"},
		{"ErrExponent", text("BT /F1 10 Tf 1e3 0 Td ET"), "Td has 1 operands"},
		{"ErrHexString", text("BT /F1 10 Tf <48656c6c6f> Tj ET"), "Tj has 0 operands"},
		{"ErrTJ", text("BT /F1 10 Tf [(a) -250 (b)] TJ ET"), "uses TJ"},
		{"ErrTm", text("BT /F1 10 Tf 1 0 0 1 5 5 Tm (a)Tj ET"), "uses Tm"},
		{"ErrQuote", text("BT /F1 10 Tf (a)' ET"), "uses '"},
		{"ErrUnderCM", text("2 0 0 2 0 0 cm BT /F1 10 Tf (a)Tj ET"), "under a cm"},
		{"ErrQWithoutq", text("q Q Q"), "Q without q"},
		{"ErrUnterminatedString", text("BT /F1 10 Tf (a(b)Tj ET"), "ends inside a string"},
		{"ErrStringEndsInEscape", text(`BT /F1 10 Tf (a\`), "ends inside a string escape"},
		{"ErrUnclosedBT", text("BT /F1 10 Tf (a)Tj"), "ends inside BT"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := pdftext.Read(tc.pdf)
			if err == nil || !strings.HasPrefix(err.Error(), "pdftext: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Read = %v, want an error mentioning %q", err, tc.want)
			}
			if diff := cmp.Diff(pdftext.Doc{}, doc); diff != "" {
				t.Errorf("Read returned a partial Doc with its error (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReadTruncated cuts a rendered receipt at every byte: each prefix
// either fails or, once everything Read looks at is present, reads the
// same as the whole file.
func TestReadTruncated(t *testing.T) {
	pdf := renderReceipt(t)
	want, err := pdftext.Read(pdf)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	failed := 0
	for n := range len(pdf) {
		doc, err := pdftext.Read(pdf[:n])
		if err != nil {
			failed++
			continue
		}
		if diff := cmp.Diff(want, doc); diff != "" {
			t.Fatalf("Read of the first %d of %d bytes (-whole +truncated):\n%s", n, len(pdf), diff)
		}
	}
	if failed < len(pdf)/2 {
		t.Errorf("only %d of %d truncations failed; want most of them", failed, len(pdf))
	}
}
