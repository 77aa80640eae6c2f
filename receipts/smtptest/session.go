package smtptest

import (
	"io"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Replies the server gives besides go-smtp's own.
var (
	errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	errNoSuchUser   = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user here"}
	errTryLater     = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary failure, try again later"}
	errLocal        = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Local error in processing"}
)

// session is one SMTP transaction sequence on one connection.
type session struct {
	s    *Server
	conn *smtp.Conn
	n    int       // the connection's number, from 1
	at   time.Time // when the connection opened
	auth bool
	from string
	to   []string
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	n, at := s.connected()
	return &session{s: s, conn: c, n: n, at: at, auth: s.opts.Username == ""}, nil
}

// AuthMechanisms offers PLAIN when credentials are configured.
func (ss *session) AuthMechanisms() []string {
	if ss.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != ss.s.opts.Username || password != ss.s.opts.Password {
			return smtp.ErrAuthFailed
		}
		ss.auth = true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if !ss.auth {
		return errAuthRequired
	}
	ss.from = from
	return nil
}

// Rcpt accepts any recipient except those at the reserved .invalid top
// level domain (RFC 2606), which get a permanent 550: the way to test a
// bounce.
func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !ss.auth {
		return errAuthRequired
	}
	if strings.HasSuffix(strings.ToLower(to), ".invalid") {
		return errNoSuchUser
	}
	ss.to = append(ss.to, to)
	return nil
}

// Data reads the whole message before it decides, as a real server does:
// a rejected message has been fully sent and still is not delivered.
func (ss *session) Data(r io.Reader) error {
	if !ss.auth {
		return errAuthRequired
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	time.Sleep(ss.s.delay())
	if ss.s.takeFailure() {
		return errTryLater
	}
	m, err := parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Malformed message: " + err.Error()}
	}
	m.From, m.To = ss.from, ss.to
	m.Session, m.Connected = ss.n, ss.at
	_, m.TLS = ss.conn.TLSConnectionState()
	if err := ss.s.keep(m); err != nil {
		ss.s.srv.ErrorLog.Printf("keep message: %v", err)
		return errLocal
	}
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

// Logout runs when the connection ends, after a QUIT or not.
func (ss *session) Logout() error {
	ss.s.disconnected(ss.n)
	return nil
}
