// Package receipts makes what the customer receives by e-mail: the one-page
// PDF receipt of a succeeded payment, the message that carries it, the
// message that sends a payment link, and the signed link that downloads a
// receipt again (docs/SPEC.md §2 item 10).
//
//   - [Render] draws a [stripesync.Receipt] as a PDF with
//     codeberg.org/go-pdf/fpdf, using the core fonts only, so a receipt
//     is a few kilobytes and takes about a millisecond. The same receipt
//     always gives the same bytes, so a resend or a download is identical
//     to the first copy.
//   - [ReceiptMessage] composes the receipt's e-mail (a plain-text summary,
//     the PDF attached, a Message-ID derived from the receipt number);
//     [LinkMessage] composes the payment-link e-mail (text and HTML, a
//     Message-ID derived from the request that asked for it).
//   - [Mailer] submits a [Message] over SMTP with github.com/wneessen/go-mail:
//     STARTTLS or implicit TLS, AUTH PLAIN, never plain text beyond
//     loopback. [Mailer.SendAccepted] reports the moment the server has
//     accepted the message, before the conversation ends, so the caller can
//     record the send where only a crash inside the conversation loses it.
//     Failures come back as [*stripesync.Error] values whose code tells the
//     job queue, through stripesync.Retryable, whether to retry
//     (EUNAVAILABLE) or give up (EINVALID, EUNAUTHORIZED).
//   - [Sender] ties them together for the engine (sync.ReceiptSender and
//     the link mailer): render, compose, add the download link, send.
//   - [Signer] makes the unguessable tokens of GET /receipts/{token}.pdf:
//     the payment id with its HMAC-SHA256, checked in constant time, so a
//     forged link is refused without touching the database.
//
// cmd/stripesync builds the Mailer from STRIPESYNC_SMTP_URL and
// STRIPESYNC_MAIL_FROM. Nothing here touches the ledger: callers load the
// Receipt and record that it was sent.
//
// Tests send to a real SMTP server (package receipts/smtptest) and read the text
// back out of the PDFs they render (package receipts/pdftext).
package receipts
