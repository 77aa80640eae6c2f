package receipts

import (
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/internal/golden"
)

// TestGoldenMessages pins every e-mail the daemon sends, word for word:
// subject and text (and HTML where there is one). make golden rewrites
// the files after an intended change; review their diff.
func TestGoldenMessages(t *testing.T) {
	r := sampleReceipt()
	link, err := LinkMessage(stripesync.LinkNotice{
		RequestID: "req_golden", Business: r.Business, CustomerName: r.CustomerName, CustomerEmail: r.CustomerEmail,
		InvoiceNumber: r.InvoiceNumber, Balance: stripesync.Money{Amount: 7500, Currency: "USD"},
		DueDate: time.Date(2026, 4, 30, 0, 0, 0, 0, time.UTC), URL: "https://pay.example.test/pay/AXAAtoken",
		ExpiresAt: time.Date(2026, 5, 14, 15, 9, 0, 0, time.UTC),
	})
	if err != nil {
		t.Fatal(err)
	}
	refund := RefundMessage(stripesync.RefundNotice{
		Key: "pi_3PqRsTuVwXyZ0123456789ab:refunded:1000", Business: r.Business, CustomerName: r.CustomerName,
		CustomerEmail: r.CustomerEmail, PaymentID: r.PaymentID, InvoiceNumber: r.InvoiceNumber, ReceiptNumber: r.Number,
		Method: r.Method, Paid: r.Amount, Refunded: stripesync.Money{Amount: 1000, Currency: "USD"},
		Balance: stripesync.Money{Amount: 8500, Currency: "USD"},
	})
	for _, c := range []struct {
		name string
		msg  Message
	}{
		{"receipt-mail", ReceiptMessage(r, []byte("%PDF"))},
		{"link-mail", link},
		{"refund-mail", refund},
	} {
		t.Run(c.name, func(t *testing.T) {
			text := "Subject: " + c.msg.Subject + "\nMessage-ID: " + c.msg.MessageID + "\n\n" + c.msg.Text
			golden.Check(t, "testdata/"+c.name+".golden.txt", []byte(text))
			if c.msg.HTML != "" {
				golden.Check(t, "testdata/"+c.name+".golden.html", []byte(c.msg.HTML))
			}
		})
	}
}
