package receipts

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReceiptMessage(t *testing.T) {
	pdf := []byte("%PDF-1.3 stand-in")
	got := ReceiptMessage(sampleReceipt(), pdf)
	want := Message{
		To:      []string{"jane.doe@example.com"},
		Subject: "Receipt R-000042 from Harbour Plumbing & Heating Ltd",
		Text: `Hello Jane Doe,

Thank you for your payment to Harbour Plumbing & Heating Ltd. Your receipt is attached.

Receipt number:  R-000042
Invoice number:  INV-2026-0042
Amount paid:     25.00 USD
Date paid:       14 March 2026, 15:09 UTC
Payment method:  Visa •••• 4242
Balance left:    75.00 USD

Questions about this payment? Write to accounts@harbourplumbing.example.

Harbour Plumbing & Heating Ltd
12 Quay Street
Portsmouth PO1 3AA
United Kingdom
`,
		Attachments: []Attachment{{Name: "receipt-R-000042.pdf", ContentType: "application/pdf", Data: pdf}},
		MessageID:   "<receipt-R-000042@stripesync>",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReceiptMessage (-want +got):\n%s", diff)
	}
}

// TestReceiptMessageHostileFields: a header injection attempt or a path in
// the receipt number can reach neither the subject line nor the file name.
func TestReceiptMessageHostileFields(t *testing.T) {
	r := sampleReceipt()
	r.Number = "R-1/../x\r\nBcc: victim@example.com"
	r.Business.Name = "Evil\nCo"
	r.CustomerName = ""
	got := ReceiptMessage(r, nil)
	if want := "Receipt R-1/../x Bcc: victim@example.com from Evil Co"; got.Subject != want {
		t.Errorf("Subject = %q, want %q", got.Subject, want)
	}
	if want := "receipt-R-1----x-Bcc--victim-example-com.pdf"; got.Attachments[0].Name != want {
		t.Errorf("attachment name = %q, want %q", got.Attachments[0].Name, want)
	}
	if want := "<receipt-R-1----x-Bcc--victim-example-com@stripesync>"; got.MessageID != want {
		t.Errorf("MessageID = %q, want %q", got.MessageID, want)
	}
	if want := "Hello,\n"; got.Text[:len(want)] != want {
		t.Errorf("Text starts %q, want %q", got.Text[:len(want)], want)
	}
}

// TestBusinessEndingInAFullStop: a name that brings its own full stop
// ("… Inc.") ends a sentence with one, in the e-mail and in the PDF.
func TestBusinessEndingInAFullStop(t *testing.T) {
	r := sampleReceipt()
	r.Business.Name = "Seller Supplies Inc."
	msg := ReceiptMessage(r, nil)
	if !strings.Contains(msg.Text, "payment to Seller Supplies Inc. Your receipt") || strings.Contains(msg.Text, "Inc..") {
		t.Errorf("e-mail text:\n%s", msg.Text)
	}
	pdf, err := Render(r)
	if err != nil {
		t.Fatal(err)
	}
	if text := readPDF(t, pdf).Text(); !strings.Contains(text, "received by Seller Supplies Inc.") || strings.Contains(text, "Inc..") {
		t.Errorf("PDF text:\n%s", text)
	}
}
