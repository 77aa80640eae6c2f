package receipts

import (
	"context"
	"fmt"
	"strings"

	"github.com/stripesync/stripesync"
)

// DigestMessage is the ops e-mail that lists failures: one paragraph each,
// with the source, the invoice, the amount, Stripe's code and message and
// the next step, and a console link to the invoice when the digest has a
// console URL. Plain text only: it is read by people on call, and often
// piped into tickets.
func DigestMessage(to string, d stripesync.FailureDigest) Message {
	n := len(d.Failures) + d.More
	subject := fmt.Sprintf("stripesync: %d payment failure", n)
	if n != 1 {
		subject += "s"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s need attention:\n\n", strings.TrimPrefix(subject, "stripesync: "))
	for _, f := range d.Failures {
		fmt.Fprintf(&b, "#%d  %s", f.ID, f.Source)
		if f.Amount.Currency != "" {
			fmt.Fprintf(&b, ", %s", f.Amount)
		}
		if f.Code != "" {
			fmt.Fprintf(&b, ", %s", oneLine(f.Code))
		}
		fmt.Fprintf(&b, " (%s)\n", f.Status)
		if f.Message != "" {
			fmt.Fprintf(&b, "    %s\n", oneLine(f.Message))
		}
		fmt.Fprintf(&b, "    Next: %s\n", oneLine(f.NextStep))
		if f.InvoiceID != "" {
			if d.ConsoleURL != "" {
				fmt.Fprintf(&b, "    %s/staff/invoices/%s\n", d.ConsoleURL, f.InvoiceID)
			} else {
				fmt.Fprintf(&b, "    Invoice %s\n", f.InvoiceID)
			}
		}
		b.WriteString("\n")
	}
	if d.More > 0 {
		fmt.Fprintf(&b, "…and %d more, in the next message and in `stripesync failures list`.\n", d.More)
	}
	b.WriteString("List them all with `stripesync failures list` or GET /v1/failures?status=open.\n")
	return Message{To: []string{to}, Subject: subject, Text: b.String()}
}

// SendFailureDigest mails d to the ops address to.
func (s Sender) SendFailureDigest(ctx context.Context, to string, d stripesync.FailureDigest) error {
	return s.Mailer.Send(ctx, DigestMessage(to, d))
}
