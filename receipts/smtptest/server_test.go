package smtptest_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/smtp"
	"net/textproto"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/stripesync/stripesync/receipts/smtptest"
)

// rawMessage is a hand-written MIME message with what a receipt mail has:
// an encoded subject, a quoted-printable text part and a base64 PDF whose
// file name needs RFC 2231 encoding, plus a path-like name.
const rawMessage = "From: Shop <shop@example.com>\r\n" +
	"To: jane@example.com\r\n" +
	"Subject: =?UTF-8?q?Receipt_R-1_=E2=80=93_thanks?=\r\n" +
	"Message-ID: <receipt-R-1@stripesync>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"b1\"\r\n" +
	"\r\n" +
	"--b1\r\n" +
	"Content-Type: multipart/alternative; boundary=\"b2\"\r\n" +
	"\r\n" +
	"--b2\r\n" +
	"Content-Type: text/plain; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"Paid 25.00 USD with Visa =E2=80=A2=E2=80=A2=E2=80=A2=E2=80=A2 4242. This line is long enough to be=\r\n" +
	" soft-wrapped.\r\n" +
	"--b2--\r\n" +
	"--b1\r\n" +
	"Content-Type: application/pdf\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"Content-Disposition: attachment; filename*=UTF-8''re%C3%A7u-R-1.pdf\r\n" +
	"\r\n" +
	"JVBERi0xLjMK\r\n" +
	"AAEC/w==\r\n" +
	"--b1\r\n" +
	"Content-Type: text/plain\r\n" +
	"Content-Disposition: attachment; filename=\"../../etc/notes.txt\"\r\n" +
	"\r\n" +
	"hello\r\n" +
	"--b1--\r\n"

func TestServerReceivesAndParses(t *testing.T) {
	dir := t.TempDir()
	srv := smtptest.NewServer(t, smtptest.Options{Username: "mailer", Password: "s3cret", Dir: dir})
	auth := smtp.PlainAuth("", "mailer", "s3cret", "127.0.0.1")
	if err := smtp.SendMail(srv.Addr(), auth, "bounce@example.com", []string{"jane@example.com", "copy@example.com"}, []byte(rawMessage)); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	msgs := srv.Messages()
	want := []smtptest.Message{{
		From:      "bounce@example.com",
		To:        []string{"jane@example.com", "copy@example.com"},
		Subject:   "Receipt R-1 – thanks",
		Text:      "Paid 25.00 USD with Visa •••• 4242. This line is long enough to be soft-wrapped.",
		MessageID: "<receipt-R-1@stripesync>",
		Attachments: []smtptest.Attachment{
			{Name: "reçu-R-1.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.3\n\x00\x01\x02\xff")},
			{Name: "../../etc/notes.txt", ContentType: "text/plain", Data: []byte("hello")},
		},
		Raw:     []byte(rawMessage),
		Session: 1,
	}}
	if diff := cmp.Diff(want, msgs, cmpopts.IgnoreFields(smtptest.Message{}, "Connected", "Disconnected")); diff != "" {
		t.Errorf("Messages() (-want +got):\n%s", diff)
	}
	// The server answers QUIT before it closes its end and records the
	// close, so SendMail may return first: wait (bounded) for the record.
	for deadline := time.Now().Add(5 * time.Second); msgs[0].Disconnected.IsZero() && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
		msgs = srv.Messages()
	}
	if m := msgs[0]; m.Connected.IsZero() || m.Disconnected.Before(m.Connected) {
		t.Errorf("SendMail ended with QUIT, yet the connection opened %v and closed %v", m.Connected, m.Disconnected)
	}

	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{"001-_.._etc_notes.txt", "001-reçu-R-1.pdf", "001.eml"}
	for i, f := range files {
		files[i] = filepath.Base(f)
	}
	if diff := cmp.Diff(wantFiles, files); diff != "" {
		t.Errorf("files in Dir (-want +got):\n%s", diff)
	}
	if pdf, err := os.ReadFile(filepath.Join(dir, "001-reçu-R-1.pdf")); err != nil || string(pdf) != "%PDF-1.3\n\x00\x01\x02\xff" {
		t.Errorf("saved attachment = %q, %v", pdf, err)
	}
}

func TestServerRequiresAuth(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{Username: "mailer", Password: "s3cret"})
	for _, tc := range []struct {
		name     string
		auth     smtp.Auth
		wantCode int
	}{
		{"ErrNoAuth", nil, 530},
		{"ErrWrongPassword", smtp.PlainAuth("", "mailer", "wrong", "127.0.0.1"), 535},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := smtp.SendMail(srv.Addr(), tc.auth, "a@example.com", []string{"b@example.com"}, []byte(rawMessage))
			if code := replyCode(err); code != tc.wantCode {
				t.Errorf("SendMail = %v, want reply %d", err, tc.wantCode)
			}
		})
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages accepted without authentication", n)
	}
}

func TestServerFailNext(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{FailNext: 1})
	send := func() error {
		return smtp.SendMail(srv.Addr(), nil, "a@example.com", []string{"b@example.com"}, []byte(rawMessage))
	}
	if err := send(); replyCode(err) != 451 {
		t.Fatalf("first send = %v, want 451", err)
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("a rejected message was kept: %d messages", n)
	}
	if err := send(); err != nil {
		t.Fatalf("second send: %v", err)
	}
	srv.SetFailNext(2)
	for i := range 2 {
		if err := send(); replyCode(err) != 451 {
			t.Fatalf("send %d after SetFailNext(2) = %v, want 451", i, err)
		}
	}
	if err := send(); err != nil {
		t.Fatalf("send after the failures: %v", err)
	}
	if n := len(srv.Messages()); n != 2 {
		t.Errorf("messages = %d, want 2", n)
	}
}

// TestServerTimesTheConversation holds a connection open after its
// message: the message is kept at once, its connection is open until the
// client leaves, and the reply waited ReplyDelay.
func TestServerTimesTheConversation(t *testing.T) {
	const delay = 50 * time.Millisecond
	srv := smtptest.NewServer(t, smtptest.Options{ReplyDelay: delay})
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w := writeMessage(t, c)
	sent := time.Now()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(sent); waited < delay {
		t.Errorf("the server replied after %v, want at least ReplyDelay %v", waited, delay)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || msgs[0].Session != 1 || !msgs[0].Disconnected.IsZero() {
		t.Fatalf("with the connection still open: %d messages, %+v", len(msgs), msgs)
	}
	if err := c.Close(); err != nil { // no QUIT: a sender that died
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for srv.Messages()[0].Disconnected.IsZero() {
		if time.Now().After(deadline) {
			t.Fatal("the dropped connection was never recorded as closed")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestServerRefusesInvalidDomain(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{})
	err := smtp.SendMail(srv.Addr(), nil, "a@example.com", []string{"nobody@example.invalid"}, []byte(rawMessage))
	if code := replyCode(err); code != 550 {
		t.Errorf("SendMail = %v, want 550", err)
	}
}

func TestServerSTARTTLS(t *testing.T) {
	serverTLS, clientTLS := smtptest.NewTLS(t)
	srv := smtptest.NewServer(t, smtptest.Options{TLSConfig: serverTLS})
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("server does not offer STARTTLS")
	}
	cfg := clientTLS.Clone()
	cfg.ServerName = "127.0.0.1" // net/smtp does not fill it in
	if err := c.StartTLS(cfg); err != nil {
		t.Fatalf("StartTLS: %v", err)
	}
	sendOn(t, c)
	if msgs := srv.Messages(); len(msgs) != 1 || !msgs[0].TLS {
		t.Errorf("messages = %+v, want one received over TLS", msgs)
	}
}

func TestServerImplicitTLS(t *testing.T) {
	serverTLS, clientTLS := smtptest.NewTLS(t)
	srv := smtptest.NewServer(t, smtptest.Options{TLSConfig: serverTLS, ImplicitTLS: true, Username: "u", Password: "p"})
	if got, want := srv.URL(), "smtps://u:p@"+srv.Addr(); got != want {
		t.Errorf("URL() = %q, want %q", got, want)
	}
	conn, err := tls.Dial("tcp", srv.Addr(), clientTLS)
	if err != nil {
		t.Fatal(err)
	}
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(smtp.PlainAuth("", "u", "p", "127.0.0.1")); err != nil {
		t.Fatalf("Auth: %v", err)
	}
	sendOn(t, c)
	if msgs := srv.Messages(); len(msgs) != 1 || !msgs[0].TLS {
		t.Errorf("messages = %+v, want one received over TLS", msgs)
	}
}

func TestWaitMessages(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if msgs, err := srv.WaitMessages(ctx, 1); !errors.Is(err, context.DeadlineExceeded) || msgs != nil {
		t.Fatalf("WaitMessages on an empty server = %v, %v; want the deadline", msgs, err)
	}

	errc := make(chan error, 1)
	go func() {
		errc <- smtp.SendMail(srv.Addr(), nil, "a@example.com", []string{"b@example.com"}, []byte(rawMessage))
	}()
	msgs, err := srv.WaitMessages(t.Context(), 1)
	if err != nil || len(msgs) != 1 || msgs[0].MessageID != "<receipt-R-1@stripesync>" {
		t.Fatalf("WaitMessages = %v, %v; want the message", msgs, err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("SendMail: %v", err)
	}
}

func TestStartRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts smtptest.Options
	}{
		{"ErrImplicitTLSWithoutConfig", smtptest.Options{ImplicitTLS: true}},
		{"ErrDirMissing", smtptest.Options{Dir: filepath.Join(t.TempDir(), "missing")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if s, err := smtptest.Start("127.0.0.1:0", tc.opts); err == nil {
				s.Close()
				t.Error("Start succeeded, want an error")
			}
		})
	}
}

func TestURLAndClose(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{Username: "a user", Password: "p@ss/word"})
	if got, want := srv.URL(), "smtp://a%20user:p%40ss%2Fword@"+srv.Addr(); got != want {
		t.Errorf("URL() = %q, want %q", got, want)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := smtp.Dial(srv.Addr()); err == nil {
		t.Error("Dial after Close succeeded")
	}
}

// sendOn sends rawMessage on an open client connection and quits.
func sendOn(t *testing.T, c *smtp.Client) {
	t.Helper()
	w := writeMessage(t, c)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
}

// writeMessage starts a transaction on c and writes rawMessage as its
// DATA; closing the writer ends the DATA and waits for the reply.
func writeMessage(t *testing.T, c *smtp.Client) io.WriteCloser {
	t.Helper()
	if err := c.Mail("a@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("b@example.com"); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(rawMessage)); err != nil {
		t.Fatal(err)
	}
	return w
}

// replyCode is the SMTP reply code of err, 0 when it has none.
func replyCode(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}
