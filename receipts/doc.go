// Package receipts turns a succeeded payment into what the customer keeps:
// a one-page PDF receipt, the e-mail that carries it, and the signed link
// that downloads it again (docs/SPEC.md §2 item 10).
//
//   - [Render] draws a [stripesync.Receipt] as a PDF with
//     codeberg.org/go-pdf/fpdf, using the core fonts only, so a receipt
//     is a few kilobytes and takes about a millisecond. The same receipt
//     always gives the same bytes, so a resend or a download is identical
//     to the first copy.
//   - [ReceiptMessage] composes the e-mail (a plain-text summary, the PDF
//     attached, a Message-ID derived from the receipt number) and
//     [Mailer.Send] submits it over SMTP with github.com/wneessen/go-mail:
//     STARTTLS or implicit TLS, AUTH PLAIN, never plain text beyond
//     loopback. Failures come back as [*stripesync.Error] values whose code
//     tells the job queue whether to retry (EUNAVAILABLE) or give up
//     (EINVALID, EUNAUTHORIZED).
//   - [Signer] makes the unguessable tokens of GET /receipts/{token}.pdf:
//     the payment id with its HMAC-SHA256, checked in constant time, so a
//     forged link is refused without touching the database.
//
// The engine's receipt job (JobSendReceipt) and the staff resend call
// Render, ReceiptMessage and Send; httpapi serves downloads through a
// Signer; cmd/stripesync builds the Mailer from STRIPESYNC_SMTP_URL and
// STRIPESYNC_MAIL_FROM. Nothing here touches the ledger: callers load the
// Receipt and record that it was sent.
//
// Tests send to a real SMTP server (package receipts/smtptest) and read the text
// back out of the PDFs they render (package receipts/pdftext).
package receipts
