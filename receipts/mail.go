package receipts

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stripesync/stripesync"
	gomail "github.com/wneessen/go-mail"
)

// MailConfig configures a Mailer. URL and From are required.
type MailConfig struct {
	// URL is the submission server, STRIPESYNC_SMTP_URL:
	// smtp://user:pass@host:port (port 587 by default) upgrades with
	// STARTTLS and refuses to go on without it, except to a loopback host,
	// where plain SMTP is allowed when STARTTLS is not offered;
	// smtps://user:pass@host:port (port 465 by default) is TLS from the
	// first byte. User and password are optional (no AUTH without them);
	// special characters in them must be percent-encoded. AUTH is PLAIN,
	// and only ever over TLS or to loopback.
	URL string
	// From is the sender address, e.g. "Acme Billing <billing@acme.example>".
	From string
	// Timeout bounds connecting and each step of the SMTP conversation.
	// 0 means 30 seconds.
	Timeout time.Duration
	// TLSConfig, when set, replaces the system roots and defaults for the
	// TLS connection (tests trust their own certificate with it). ServerName
	// defaults to the URL's host.
	TLSConfig *tls.Config
}

const defaultMailTimeout = 30 * time.Second

// Validate reports every problem with c at once (errors.Join of EINVALID
// errors). No message contains the URL's password.
func (c MailConfig) Validate() error {
	var errs []error
	if _, err := parseServerURL(c.URL); err != nil {
		errs = append(errs, err)
	}
	if strings.TrimSpace(c.From) == "" {
		errs = append(errs, stripesync.Errorf(stripesync.EINVALID, "mail sender (From) is required"))
	} else if _, err := mail.ParseAddress(c.From); err != nil {
		errs = append(errs, stripesync.Errorf(stripesync.EINVALID, "mail sender %q is not a valid address", c.From))
	}
	if c.Timeout < 0 {
		errs = append(errs, stripesync.Errorf(stripesync.EINVALID, "mail timeout %s must not be negative", c.Timeout))
	}
	return errors.Join(errs...)
}

// server is where and how a Mailer connects, parsed from MailConfig.URL.
type server struct {
	host, port         string
	implicitTLS        bool
	username, password string
}

func (s server) addr() string { return net.JoinHostPort(s.host, s.port) }

// loopback reports whether the server is on this machine, the only place
// plain SMTP (and AUTH without TLS) is allowed.
func (s server) loopback() bool { return stripesync.IsLoopbackHost(s.host) }

// parseServerURL parses an SMTP URL. Its errors never quote the URL, which
// may hold a password.
func parseServerURL(raw string) (server, error) {
	bad := func(why string) (server, error) {
		return server{}, stripesync.Errorf(stripesync.EINVALID,
			"mail server URL %s: it must look like smtp://user:pass@host:port or smtps://user:pass@host:port", why)
	}
	if strings.TrimSpace(raw) == "" {
		return bad("is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("cannot be parsed (percent-encode special characters in the user and password)")
	}
	var s server
	switch u.Scheme {
	case "smtp":
		s.port = "587"
	case "smtps":
		s.port, s.implicitTLS = "465", true
	default:
		return bad("has an unknown scheme")
	}
	if s.host = u.Hostname(); s.host == "" {
		return bad("has no host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return bad("has an invalid port")
		}
		s.port = p
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return bad("has a path, query or fragment")
	}
	if u.User != nil {
		s.username = u.User.Username()
		s.password, _ = u.User.Password()
		if s.username == "" || s.password == "" {
			return bad("has a user without a password, or a password without a user")
		}
	}
	return s, nil
}

// Mailer sends messages through one SMTP submission server with
// github.com/wneessen/go-mail, one connection per message. It is safe for
// concurrent use.
type Mailer struct {
	server  server
	from    string
	timeout time.Duration
	tls     *tls.Config
}

// NewMailer validates cfg (EINVALID) and returns a Mailer. It does not
// connect: an unreachable server shows up on the first Send.
func NewMailer(cfg MailConfig) (*Mailer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	srv, _ := parseServerURL(cfg.URL)
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.TLSConfig != nil {
		tlsConfig = cfg.TLSConfig.Clone()
	}
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = srv.host
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = defaultMailTimeout
	}
	return &Mailer{server: srv, from: cfg.From, timeout: timeout, tls: tlsConfig}, nil
}

// Attachment is a file attached to a Message.
type Attachment struct {
	Name        string // file name shown to the recipient
	ContentType string // e.g. "application/pdf"
	Data        []byte
}

// Message is one e-mail: plain text, optionally with an HTML alternative,
// and attachments.
type Message struct {
	To      []string
	Subject string
	Text    string
	// HTML, when set, is sent as the text/html alternative of Text
	// (multipart/alternative); mail clients show the one they prefer.
	HTML        string
	Attachments []Attachment
	// MessageID is the Message-ID header, e.g. "<receipt-R-000042@stripesync>".
	// Give a resend the same id, so that mail clients and support staff
	// recognise it as the same message. Empty means a random one.
	MessageID string
}

// Send delivers msg, and returns only once the server has accepted it for
// every recipient or refused it. ctx cancels the whole conversation, not
// just the connect.
//
// Errors are *stripesync.Error values: EUNAVAILABLE when a later try may
// succeed (connection refused or lost, timeout, a 4xx reply such as 451, a
// cancelled ctx, a server that does not offer the STARTTLS it must),
// EUNAUTHORIZED when the server refuses the credentials, EINVALID when the
// message or an address is refused for good (a bad address here, a 5xx
// reply there) or the server's certificate does not verify. A refused
// message was not delivered to anyone. No error contains the password.
func (m *Mailer) Send(ctx context.Context, msg Message) error {
	return m.SendAccepted(ctx, msg, nil)
}

// SendAccepted is Send that calls accepted, if set, as soon as the server
// has accepted msg (its reply to the end of DATA) and before the
// conversation ends with QUIT. A caller that records the delivery there
// leaves no moment in which the message is delivered, the connection
// closed and the record not yet made: a crash that forgets a delivery
// always breaks a conversation the server saw no QUIT on.
//
// Once accepted has run, the message is delivered, and SendAccepted
// returns nil whatever the QUIT gets: reporting a failure then would only
// have the caller send it again.
func (m *Mailer) SendAccepted(ctx context.Context, msg Message, accepted func()) error {
	out, err := m.compose(msg)
	if err != nil {
		return err
	}
	sendCtx, cancel := context.WithCancel(ctx)
	defer cancel() // also closes the connection if QUIT did not
	client, err := gomail.NewClient(m.server.host, m.clientOptions(sendCtx)...)
	if err != nil {
		return stripesync.WrapError(stripesync.EINTERNAL, err, "mail: configure SMTP client")
	}
	conn, err := client.DialToSMTPClientWithContext(sendCtx)
	if err == nil {
		if err = client.SendWithSMTPClient(conn, out); err != nil {
			err = errors.Join(err, client.CloseWithSMTPClient(conn))
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			err = errors.Join(err, context.Cause(ctx))
		}
		return stripesync.WrapError(classify(err), err, "mail: send %s via %s", describe(msg), m.server.addr())
	}
	if accepted != nil {
		accepted()
	}
	_ = client.CloseWithSMTPClient(conn)
	return nil
}

// describe names msg in errors: by its Message-ID, which identifies a
// receipt without revealing the customer.
func describe(msg Message) string {
	if msg.MessageID == "" {
		return "message"
	}
	return "message " + msg.MessageID
}

// compose builds the MIME message, refusing bad addresses before any
// connection is made.
func (m *Mailer) compose(msg Message) (*gomail.Msg, error) {
	if len(msg.To) == 0 {
		return nil, stripesync.Errorf(stripesync.EINVALID, "mail: %s has no recipient", describe(msg))
	}
	out := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := out.From(m.from); err != nil {
		return nil, stripesync.WrapError(stripesync.EINVALID, err, "mail: sender %q", m.from)
	}
	if err := out.To(msg.To...); err != nil {
		return nil, stripesync.WrapError(stripesync.EINVALID, err, "mail: %s has an invalid recipient", describe(msg))
	}
	out.Subject(msg.Subject)
	switch id := strings.TrimSuffix(strings.TrimPrefix(msg.MessageID, "<"), ">"); {
	case id == "":
		out.SetMessageID()
	case !strings.Contains(id, "@") || strings.ContainsFunc(id, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '<' || r == '>' }):
		return nil, stripesync.Errorf(stripesync.EINVALID, "mail: Message-ID %q must look like <id@domain>", msg.MessageID)
	default:
		out.SetMessageIDWithValue(id)
	}
	out.SetDate()
	out.SetBodyString(gomail.TypeTextPlain, msg.Text)
	if msg.HTML != "" {
		out.AddAlternativeString(gomail.TypeTextHTML, msg.HTML)
	}
	for _, a := range msg.Attachments {
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		if err := out.AttachReader(a.Name, bytes.NewReader(a.Data), gomail.WithFileContentType(gomail.ContentType(ct))); err != nil {
			return nil, stripesync.WrapError(stripesync.EINTERNAL, err, "mail: attach %s", a.Name)
		}
	}
	return out, nil
}

// clientOptions is the go-mail configuration of one Send. The dialer is
// ours so that cancelling ctx closes the connection at any step, which
// go-mail alone only honours while connecting.
func (m *Mailer) clientOptions(ctx context.Context) []gomail.Option {
	port, _ := strconv.Atoi(m.server.port)
	opts := []gomail.Option{
		gomail.WithPort(port),
		gomail.WithTimeout(m.timeout),
		gomail.WithTLSConfig(m.tls),
		gomail.WithDialContextFunc(m.dialer(ctx)),
	}
	switch {
	case m.server.implicitTLS:
		opts = append(opts, gomail.WithSSL())
	case m.server.loopback():
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if m.server.username != "" {
		auth := gomail.SMTPAuthPlain // go-mail refuses it without TLS except to localhost
		if m.server.loopback() {
			auth = gomail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, gomail.WithSMTPAuth(auth),
			gomail.WithUsername(m.server.username), gomail.WithPassword(m.server.password))
	}
	return opts
}

// dialer connects (with TLS from the start for smtps) and ties the
// connection's life to ctx.
func (m *Mailer) dialer(ctx context.Context) gomail.DialContextFunc {
	return func(dialCtx context.Context, network, addr string) (net.Conn, error) {
		var conn net.Conn
		var err error
		if m.server.implicitTLS {
			d := tls.Dialer{Config: m.tls}
			conn, err = d.DialContext(dialCtx, network, addr)
		} else {
			var d net.Dialer
			conn, err = d.DialContext(dialCtx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		context.AfterFunc(ctx, func() { conn.Close() })
		return conn, nil
	}
}
