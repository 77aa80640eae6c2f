package receipts

import (
	"fmt"
	"strings"

	"github.com/stripesync/stripesync"
)

// ReceiptMessage is the e-mail that carries receipt r to its customer: the
// facts of the PDF in plain text, and pdf (from Render) attached as
// receipt-<number>.pdf. Its Message-ID is derived from the receipt number
// only, so a resend carries the same id as the first send.
func ReceiptMessage(r stripesync.Receipt, pdf []byte) Message {
	number := oneLine(r.Number)
	business := oneLine(r.Business.Name)
	var b strings.Builder
	greeting := "Hello"
	if name := oneLine(r.CustomerName); name != "" {
		greeting += " " + name
	}
	fmt.Fprintf(&b, "%s,\n\nThank you for your payment to %s Your receipt is attached.\n\n", greeting, endSentence(business))
	fmt.Fprintf(&b, "Receipt number:  %s\n", number)
	if r.InvoiceNumber != "" {
		fmt.Fprintf(&b, "Invoice number:  %s\n", oneLine(r.InvoiceNumber))
	}
	fmt.Fprintf(&b, "Amount paid:     %s\n", r.Amount.String())
	fmt.Fprintf(&b, "Date paid:       %s\n", r.PaidAt.Format("2 January 2006, 15:04 MST"))
	if r.Method != "" {
		fmt.Fprintf(&b, "Payment method:  %s\n", oneLine(r.Method))
	}
	fmt.Fprintf(&b, "Balance left:    %s\n", formatBalance(r.BalanceLeft, r.Amount.Currency))
	b.WriteString("\n")
	if r.Business.Email != "" {
		fmt.Fprintf(&b, "Questions about this payment? Write to %s.\n\n", oneLine(r.Business.Email))
	}
	fmt.Fprintf(&b, "%s\n", business)
	for _, line := range r.Business.Address {
		fmt.Fprintf(&b, "%s\n", oneLine(line))
	}
	token := fileToken(number)
	return Message{
		To:          []string{r.CustomerEmail},
		Subject:     fmt.Sprintf("Receipt %s from %s", number, business),
		Text:        b.String(),
		Attachments: []Attachment{{Name: "receipt-" + token + ".pdf", ContentType: "application/pdf", Data: pdf}},
		MessageID:   "<receipt-" + token + "@stripesync>",
	}
}

// fileToken keeps the letters, digits, "-" and "_" of a receipt number, so
// that it is safe in a file name and a Message-ID.
func fileToken(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '-'
	}, s)
}
