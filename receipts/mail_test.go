package receipts

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/receipts/smtptest"
)

const (
	testUser     = "billing@harbour.example"
	testPassword = "hunter2-Secret"
	testFrom     = "Harbour Billing <billing@harbour.example>"
)

func newTestMailer(t *testing.T, cfg MailConfig) *Mailer {
	t.Helper()
	if cfg.From == "" {
		cfg.From = testFrom
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	m, err := NewMailer(cfg)
	if err != nil {
		t.Fatalf("NewMailer: %v", err)
	}
	return m
}

// TestMailerSendsReceipt is the whole path: render, compose, send with
// AUTH to a real SMTP server, parse what arrived, read the PDF back.
func TestMailerSendsReceipt(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{Username: testUser, Password: testPassword})
	m := newTestMailer(t, MailConfig{URL: srv.URL()})
	r := sampleReceipt()
	pdf, err := Render(r)
	if err != nil {
		t.Fatal(err)
	}
	msg := ReceiptMessage(r, pdf)
	for range 2 { // a resend is the same message
		if err := m.Send(t.Context(), msg); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	got, err := srv.WaitMessages(t.Context(), 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range got {
		if g.From != "billing@harbour.example" || !cmp.Equal(g.To, []string{"jane.doe@example.com"}) {
			t.Errorf("message %d envelope = %s → %v", i, g.From, g.To)
		}
		if g.Subject != msg.Subject || g.MessageID != "<receipt-R-000042@stripesync>" {
			t.Errorf("message %d: subject %q, Message-ID %q", i, g.Subject, g.MessageID)
		}
		if diff := cmp.Diff(msg.Text, g.Text); diff != "" {
			t.Errorf("message %d text (-sent +received):\n%s", i, diff)
		}
		if len(g.Attachments) != 1 {
			t.Fatalf("message %d has %d attachments, want 1", i, len(g.Attachments))
		}
		a := g.Attachments[0]
		if a.Name != "receipt-R-000042.pdf" || a.ContentType != "application/pdf" || !bytes.Equal(a.Data, pdf) {
			t.Errorf("attachment %s (%s, %d bytes) differs from the %d-byte PDF sent", a.Name, a.ContentType, len(a.Data), len(pdf))
		}
		text := readPDF(t, a.Data).Text()
		for _, want := range []string{"R-000042", "25.00 USD", "Visa •••• 4242"} {
			if !strings.Contains(text, want) {
				t.Errorf("attached PDF lacks %q", want)
			}
		}
		if hdr, err := mail.ReadMessage(bytes.NewReader(g.Raw)); err != nil {
			t.Errorf("message %d: %v", i, err)
		} else if _, err := hdr.Header.Date(); err != nil {
			t.Errorf("message %d has no valid Date header: %v", i, err)
		}
	}
}

func TestMailerTLS(t *testing.T) {
	serverTLS, clientTLS := smtptest.NewTLS(t)
	for _, tc := range []struct {
		name     string
		implicit bool
	}{{"STARTTLS", false}, {"ImplicitTLS", true}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := smtptest.NewServer(t, smtptest.Options{
				Username: testUser, Password: testPassword, TLSConfig: serverTLS, ImplicitTLS: tc.implicit,
			})
			m := newTestMailer(t, MailConfig{URL: srv.URL(), TLSConfig: clientTLS})
			if err := m.Send(t.Context(), Message{To: []string{"a@example.com"}, Subject: "s", Text: "t"}); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if msgs := srv.Messages(); len(msgs) != 1 || !msgs[0].TLS {
				t.Errorf("messages = %d, want one received over TLS", len(msgs))
			}
		})
	}
	t.Run("ErrUntrustedCertificate", func(t *testing.T) {
		srv := smtptest.NewServer(t, smtptest.Options{TLSConfig: serverTLS})
		m := newTestMailer(t, MailConfig{URL: srv.URL()}) // system roots only
		err := m.Send(t.Context(), Message{To: []string{"a@example.com"}, Subject: "s", Text: "t"})
		if stripesync.CodeOf(err) != stripesync.EINVALID || len(srv.Messages()) != 0 {
			t.Errorf("Send = %v, want EINVALID and nothing delivered", err)
		}
	})
}

// TestMailerRequiresTLSBeyondLoopback: to any host that is not loopback,
// smtp:// without STARTTLS is refused before AUTH, so the password never
// travels in clear.
func TestMailerRequiresTLSBeyondLoopback(t *testing.T) {
	ip := nonLoopbackIP(t)
	srv, err := smtptest.Start(net.JoinHostPort(ip, "0"), smtptest.Options{Username: testUser, Password: testPassword})
	if err != nil {
		t.Skipf("cannot listen on %s: %v", ip, err)
	}
	defer srv.Close()
	m := newTestMailer(t, MailConfig{URL: srv.URL()})
	err = m.Send(t.Context(), Message{To: []string{"a@example.com"}, Subject: "s", Text: "t"})
	if err == nil || len(srv.Messages()) != 0 {
		t.Errorf("Send over plain SMTP to %s = %v, want a refusal", ip, err)
	}
}

func TestMailerTemporaryFailure(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{Username: testUser, Password: testPassword, FailNext: 1})
	m := newTestMailer(t, MailConfig{URL: srv.URL()})
	msg := ReceiptMessage(sampleReceipt(), []byte("%PDF"))
	err := m.Send(t.Context(), msg)
	if stripesync.CodeOf(err) != stripesync.EUNAVAILABLE || !stripesync.Retryable(err) {
		t.Fatalf("Send after a 451 = %v (code %q), want retryable EUNAVAILABLE", err, stripesync.CodeOf(err))
	}
	if n := len(srv.Messages()); n != 0 {
		t.Fatalf("the rejected message was counted: %d messages", n)
	}
	if err := m.Send(t.Context(), msg); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if n := len(srv.Messages()); n != 1 {
		t.Errorf("messages after the retry = %d, want exactly 1", n)
	}
}

// TestSendAcceptedRunsBeforeTheConversationEnds proves the hook runs after
// the server kept the message and while the connection is still open, so
// that a sender recording the delivery there is never killed between a
// finished conversation and its record; and that a refused message never
// runs it.
func TestSendAcceptedRunsBeforeTheConversationEnds(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{Username: testUser, Password: testPassword, FailNext: 1})
	m := newTestMailer(t, MailConfig{URL: srv.URL()})
	msg := ReceiptMessage(sampleReceipt(), []byte("%PDF"))
	calls := 0
	err := m.SendAccepted(t.Context(), msg, func() { calls++ })
	if stripesync.CodeOf(err) != stripesync.EUNAVAILABLE || calls != 0 {
		t.Fatalf("a 451: SendAccepted = %v with %d calls of accepted, want EUNAVAILABLE and none", err, calls)
	}
	var seen []smtptest.Message
	err = m.SendAccepted(t.Context(), msg, func() {
		calls++
		seen = srv.Messages()
	})
	if err != nil || calls != 1 {
		t.Fatalf("SendAccepted = %v with %d calls of accepted, want nil and 1", err, calls)
	}
	if len(seen) != 1 || !seen[0].Disconnected.IsZero() {
		t.Fatalf("when accepted ran the server had %d messages (connection closed at %v), want 1 on an open connection", len(seen), seen)
	}
	deadline := time.Now().Add(5 * time.Second)
	for srv.Messages()[0].Disconnected.IsZero() {
		if time.Now().After(deadline) {
			t.Fatal("the conversation never ended after SendAccepted returned")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMailerErrors(t *testing.T) {
	srv := smtptest.NewServer(t, smtptest.Options{Username: testUser, Password: testPassword})
	closed := smtptest.NewServer(t, smtptest.Options{})
	closedURL := closed.URL()
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}
	wrongPassword := strings.Replace(srv.URL(), "hunter2-Secret", "wrong-Secret", 1)
	const id = "<m-1@stripesync>"
	for _, tc := range []struct {
		name string
		url  string
		to   []string
		id   string
		want stripesync.ErrorCode
	}{
		{"ErrConnectionRefused", closedURL, []string{"a@example.com"}, id, stripesync.EUNAVAILABLE},
		{"ErrWrongPassword", wrongPassword, []string{"a@example.com"}, id, stripesync.EUNAUTHORIZED},
		{"ErrRecipientRefused", srv.URL(), []string{"nobody@example.invalid"}, id, stripesync.EINVALID},
		{"ErrBadAddress", srv.URL(), []string{"not an address"}, id, stripesync.EINVALID},
		{"ErrNoRecipient", srv.URL(), nil, id, stripesync.EINVALID},
		{"ErrBadMessageID", srv.URL(), []string{"a@example.com"}, "<m 1@stripesync>\r\nBcc: x@example.com", stripesync.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestMailer(t, MailConfig{URL: tc.url})
			err := m.Send(t.Context(), Message{To: tc.to, Subject: "s", Text: "t", MessageID: tc.id})
			if got := stripesync.CodeOf(err); got != tc.want {
				t.Errorf("Send = %v (code %q), want %q", err, got, tc.want)
			}
			if err != nil && (strings.Contains(err.Error(), "Secret") || strings.Contains(stripesync.MessageOf(err), "Secret")) {
				t.Errorf("error reveals the password: %v", err)
			}
		})
	}
	if n := len(srv.Messages()); n != 0 {
		t.Errorf("%d messages were delivered", n)
	}
}

// TestMailerCancel: cancelling ctx ends a conversation the server has
// stalled, long before the per-step timeout would.
func TestMailerCancel(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() { // accept, then never send the greeting
		if c, err := l.Accept(); err == nil {
			accepted <- c
		}
	}()
	m := newTestMailer(t, MailConfig{URL: "smtp://" + l.Addr().String(), Timeout: time.Minute})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Send(ctx, Message{To: []string{"a@example.com"}, Subject: "s", Text: "t"}) }()
	conn := <-accepted
	defer conn.Close()
	cancel()
	select {
	case err := <-done:
		if stripesync.CodeOf(err) != stripesync.EUNAVAILABLE || !errors.Is(err, context.Canceled) {
			t.Errorf("Send = %v, want EUNAVAILABLE wrapping context.Canceled", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Send did not return after ctx was cancelled")
	}
}

func TestMailConfigValidate(t *testing.T) {
	const pw = "hunter2-Secret"
	for _, tc := range []struct {
		name string
		cfg  MailConfig
		ok   bool
	}{
		{"OK", MailConfig{URL: "smtp://u:" + pw + "@mail.example.com:587", From: "a@example.com"}, true},
		{"OKSMTPSDefaultPort", MailConfig{URL: "smtps://u:" + pw + "@mail.example.com", From: "Shop <a@example.com>"}, true},
		{"OKNoAuth", MailConfig{URL: "smtp://127.0.0.1:2525", From: "a@example.com", Timeout: time.Second}, true},
		{"OKEncodedPassword", MailConfig{URL: "smtp://u:p%40ss%2F" + pw + "@mail.example.com", From: "a@example.com"}, true},
		{"ErrEmptyURL", MailConfig{From: "a@example.com"}, false},
		{"ErrScheme", MailConfig{URL: "http://u:" + pw + "@mail.example.com", From: "a@example.com"}, false},
		{"ErrUnparseable", MailConfig{URL: "smtp://u:" + pw + "@mail example.com:%zz", From: "a@example.com"}, false},
		{"ErrRawSlashInPassword", MailConfig{URL: "smtp://u:" + pw + "/x@mail.example.com", From: "a@example.com"}, false},
		{"ErrPort", MailConfig{URL: "smtp://u:" + pw + "@mail.example.com:99999", From: "a@example.com"}, false},
		{"ErrNoHost", MailConfig{URL: "smtp://u:" + pw + "@:25", From: "a@example.com"}, false},
		{"ErrUserWithoutPassword", MailConfig{URL: "smtp://u@mail.example.com", From: "a@example.com"}, false},
		{"ErrQuery", MailConfig{URL: "smtp://u:" + pw + "@mail.example.com?tls=off", From: "a@example.com"}, false},
		{"ErrNoFrom", MailConfig{URL: "smtp://mail.example.com"}, false},
		{"ErrBadFrom", MailConfig{URL: "smtp://mail.example.com", From: "not an address"}, false},
		{"ErrNegativeTimeout", MailConfig{URL: "smtp://mail.example.com", From: "a@example.com", Timeout: -time.Second}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.ok {
				if err != nil {
					t.Errorf("Validate = %v, want nil", err)
				}
				return
			}
			if stripesync.CodeOf(err) != stripesync.EINVALID {
				t.Errorf("Validate = %v, want EINVALID", err)
			}
			if err != nil && strings.Contains(err.Error(), pw) {
				t.Errorf("Validate error reveals the password: %v", err)
			}
			if _, nerr := NewMailer(tc.cfg); stripesync.CodeOf(nerr) != stripesync.EINVALID {
				t.Errorf("NewMailer = %v, want EINVALID", nerr)
			}
		})
	}
}

func TestMailConfigValidateReportsAll(t *testing.T) {
	err := MailConfig{URL: "ftp://x", From: "nope", Timeout: -1}.Validate()
	var n int
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		if stripesync.CodeOf(e) == stripesync.EINVALID {
			n++
		}
	}
	if n != 3 {
		t.Errorf("Validate reported %d problems, want 3: %v", n, err)
	}
}

// nonLoopbackIP is an address of this machine that is not loopback, or
// skips the test when there is none.
func nonLoopbackIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skipf("no interface addresses: %v", err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
			return ipn.IP.String()
		}
	}
	t.Skip("this machine has no non-loopback IPv4 address")
	return ""
}
