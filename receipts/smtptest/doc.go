// Package smtptest is a real SMTP server for tests and demos: it listens
// on a loopback port (github.com/emersion/go-smtp), speaks the protocol as
// a mail provider's submission server does, and keeps every accepted
// message in memory, parsed with the standard library (net/mail,
// mime/multipart, base64 and quoted-printable decoding).
//
// Package receipts tests its Mailer against it, other packages' tests use
// it to see the receipts and notices the daemon sends, and `stripesync
// demo` runs one with Options.Dir set so the mail (and the PDF receipts
// attached to it) can be opened from disk.
//
// What it can do, for tests:
//   - require AUTH PLAIN (Options.Username and Password): 530 before
//     authentication, 535 for wrong credentials;
//   - reject the next N messages with a temporary 451 after their DATA
//     (Options.FailNext, SetFailNext), so retries can be tested and a
//     rejected message is never counted;
//   - refuse recipients at the reserved .invalid domain with a permanent
//     550, and a message that does not parse as MIME with 554, so that a
//     sender's malformed output fails loudly;
//   - offer STARTTLS or serve implicit TLS (smtps), with a throwaway
//     certificate from NewTLS.
//
// A typical test:
//
//	srv := smtptest.NewServer(t, smtptest.Options{Username: "u", Password: "p"})
//	// … configure the code under test with srv.URL() and let it send …
//	msgs, err := srv.WaitMessages(ctx, 1)
//
// It is test infrastructure: only tests and the demo import it.
package smtptest
