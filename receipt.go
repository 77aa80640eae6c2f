package stripesync

import "time"

// Business is the seller printed on receipts.
type Business struct {
	Name    string
	Address []string // lines
	Email   string
}

// Receipt is everything a payment receipt shows.
type Receipt struct {
	Number        string // unique and sequential, e.g. "R-000042"
	PaymentID     string
	Business      Business
	CustomerName  string
	CustomerEmail string
	InvoiceNumber string
	Amount        Money
	Method        string // "Visa •••• 4242"
	PaidAt        time.Time
	BalanceLeft   Money
}

// Job kinds of the durable queue. Jobs are enqueued in the same transaction
// as the ledger change that calls for them, so none is lost.
const (
	// JobCRMPayment upserts Payment__c from the ledger's current state.
	// Payload {"id":"pi_…"}, no Key: a change enqueues a new job, and the
	// worker coalesces the jobs of one payment into one record.
	JobCRMPayment = "crm.payment"
	// JobCRMInvoice writes an invoice's rollup to Invoice__c. Payload
	// {"id":"a0…"}, no Key, coalesced like JobCRMPayment.
	JobCRMInvoice = "crm.invoice"
	// JobSendReceipt e-mails the receipt of a payment that succeeded.
	// Payload {"id":"pi_…"}, Key = the PaymentIntent id, so it is sent once.
	JobSendReceipt = "receipt.send"
	// JobSendRefundNotice tells the customer that a payment was refunded.
	// Payload {"id":"pi_…"}, Key = the PaymentIntent id and the refunded
	// total in minor units ("pi_…:refunded:3000"), so each refund notifies
	// once and a replayed event notifies nothing.
	JobSendRefundNotice = "refund.notice"
	// JobSendPaymentLink e-mails a payment link to an invoice's billing
	// address. Key = the request's id, so one request sends one message.
	JobSendPaymentLink = "link.send"
	// JobFailureDigest mails ops the failures recorded since the last
	// digest. No payload; Key "ops", so one is pending at a time.
	JobFailureDigest = "failure.digest"
)

// RefundNotice is everything the e-mail that announces a refund shows.
type RefundNotice struct {
	// Key is the notice's JobSendRefundNotice key; the message's
	// Message-ID derives from it, so a retried send is the same message.
	Key           string
	Business      Business
	CustomerName  string
	CustomerEmail string
	PaymentID     string
	InvoiceNumber string // "" for a payment of no known invoice
	ReceiptNumber string
	Method        string // "Visa •••• 4242"
	Paid          Money  // what the payment was for
	Refunded      Money  // refunded so far, this refund included
	// Balance is what is left to pay on the invoice now, the refund
	// counted; its currency is "" when the payment names no invoice.
	Balance Money
}

// LinkNotice is everything the e-mail that sends a payment link shows.
type LinkNotice struct {
	// RequestID identifies the request that asked for the mail (the
	// JobSendPaymentLink key); the message's Message-ID derives from it,
	// so a retried send is recognisably the same message.
	RequestID     string
	Business      Business
	CustomerName  string
	CustomerEmail string
	InvoiceNumber string
	Balance       Money
	DueDate       time.Time // zero when the invoice has none
	URL           string
	ExpiresAt     time.Time
}

// ReceiptMail is what the ledger knows about e-mailing one receipt. The
// receipt job records SendingAt before the SMTP conversation and SentAt as
// soon as the server accepts the message, so that a crash between sending
// and completing the job does not mail the receipt twice.
type ReceiptMail struct {
	// SendingAt is when the last SMTP conversation for the receipt started;
	// zero when none is under way (never started, or the last one failed).
	SendingAt time.Time
	// SentAt is when the mail server accepted the receipt; zero until then.
	SentAt time.Time
}
