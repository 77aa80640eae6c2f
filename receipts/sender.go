package receipts

import (
	"context"

	"github.com/stripesync/stripesync"
)

// Sender delivers receipts: it renders the PDF, builds the message and
// mails it. It is the engine's ReceiptSender.
type Sender struct {
	Mailer *Mailer
	// Link, when set, gives the download URL of a payment's receipt, added
	// to the message so the customer can fetch it again later.
	Link func(paymentID string) string
}

// SendReceipt renders r and mails it to r.CustomerEmail. accepted, if set,
// is called the moment the mail server has accepted the message, before the
// conversation ends (Mailer.SendAccepted): the place to record the send.
func (s Sender) SendReceipt(ctx context.Context, r stripesync.Receipt, accepted func()) error {
	pdf, err := Render(r)
	if err != nil {
		return err
	}
	msg := ReceiptMessage(r, pdf)
	if s.Link != nil {
		msg.Text += "\nYou can also download this receipt at " + s.Link(r.PaymentID) + "\n"
	}
	return s.Mailer.SendAccepted(ctx, msg, accepted)
}
