package receipts

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/stripesync/stripesync"
)

// RefundMessage is the e-mail that tells a customer about a refund: how
// much of which payment came back, to which method, and what is left on
// the invoice now. Its Message-ID derives from the notice's key, so a
// retried send carries the same id.
func RefundMessage(n stripesync.RefundNotice) Message {
	business := oneLine(n.Business.Name)
	var b strings.Builder
	greeting := "Hello"
	if name := oneLine(n.CustomerName); name != "" {
		greeting += " " + name
	}
	fmt.Fprintf(&b, "%s,\n\n%s refunded %s of your payment of %s.\n", greeting, cmp.Or(business, "We"), n.Refunded, n.Paid)
	b.WriteString("The money goes back to the payment method you used; banks usually take 5 to 10 business days to show it.\n\n")
	if n.InvoiceNumber != "" {
		fmt.Fprintf(&b, "Invoice number:  %s\n", oneLine(n.InvoiceNumber))
	}
	if n.ReceiptNumber != "" {
		fmt.Fprintf(&b, "Receipt number:  %s\n", oneLine(n.ReceiptNumber))
	}
	fmt.Fprintf(&b, "Amount paid:     %s\n", n.Paid)
	fmt.Fprintf(&b, "Refunded:        %s\n", n.Refunded)
	if n.Method != "" {
		fmt.Fprintf(&b, "Refunded to:     %s\n", oneLine(n.Method))
	}
	if n.Balance.Currency != "" {
		fmt.Fprintf(&b, "Balance now:     %s\n", formatBalance(n.Balance, n.Paid.Currency))
	}
	b.WriteString("\n")
	if n.Business.Email != "" {
		fmt.Fprintf(&b, "Questions about this refund? Write to %s.\n\n", oneLine(n.Business.Email))
	}
	if business != "" {
		fmt.Fprintf(&b, "%s\n", business)
	}
	for _, line := range n.Business.Address {
		fmt.Fprintf(&b, "%s\n", oneLine(line))
	}
	subject := "Refund of " + n.Refunded.String()
	if n.InvoiceNumber != "" {
		subject += " on invoice " + oneLine(n.InvoiceNumber)
	}
	if business != "" {
		subject += " from " + business
	}
	return Message{
		To:        []string{n.CustomerEmail},
		Subject:   subject,
		Text:      b.String(),
		MessageID: "<refund-" + fileToken(n.Key) + "@stripesync>",
	}
}

// SendRefundNotice mails n to n.CustomerEmail, calling accepted as
// SendReceipt does.
func (s Sender) SendRefundNotice(ctx context.Context, n stripesync.RefundNotice, accepted func()) error {
	return s.Mailer.SendAccepted(ctx, RefundMessage(n), accepted)
}
