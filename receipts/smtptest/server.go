package smtptest

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Options configures a Server. The zero value accepts any message without
// authentication.
type Options struct {
	// Username and Password, when Username is set, make AUTH PLAIN
	// mandatory: MAIL, RCPT and DATA before a successful AUTH get 530, and
	// wrong credentials get 535. AUTH is offered without TLS, as the server
	// only ever listens on loopback.
	Username, Password string
	// FailNext rejects the next N messages with "451 4.3.0" after their
	// DATA has been received, so that a sender's retry can be tested. A
	// rejected message is not kept. See also SetFailNext.
	FailNext int
	// Dir, when set, receives a copy of each accepted message as NNN.eml
	// (001.eml, 002.eml, …) and each of its attachments as NNN-<name>.
	// The directory must exist.
	Dir string
	// TLSConfig, when set, makes the server offer STARTTLS with it.
	TLSConfig *tls.Config
	// ImplicitTLS serves TLS from the first byte (smtps) with TLSConfig,
	// instead of offering STARTTLS.
	ImplicitTLS bool
	// ReplyDelay holds the reply to each message's DATA for this long: a
	// slow provider, which keeps a sender inside the conversation long
	// enough for a test to interrupt it there. See also SetReplyDelay.
	ReplyDelay time.Duration
	// Logger receives the server's connection errors. Default: discard.
	Logger *slog.Logger
}

// Server is a real SMTP server on a loopback port that keeps what it
// receives in memory. All methods are safe for concurrent use.
type Server struct {
	opts     Options
	srv      *smtp.Server
	listener net.Listener
	addr     string
	serveErr chan error

	closeOnce sync.Once
	closeErr  error

	mu         sync.Mutex // guards the fields below
	messages   []Message
	failNext   int
	replyDelay time.Duration
	arrived    chan struct{} // closed and replaced when a message is kept
	// conns holds when each connection opened and closed, by session
	// number, so Messages can tell whether the conversation that carried
	// a message has ended.
	conns []connTimes
}

// connTimes is when one connection opened and closed (zero while open).
type connTimes struct{ opened, closed time.Time }

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves SMTP
// until Close.
func Start(addr string, opts Options) (*Server, error) {
	if opts.ImplicitTLS && opts.TLSConfig == nil {
		return nil, errors.New("smtptest: ImplicitTLS needs a TLSConfig")
	}
	if opts.Dir != "" {
		if fi, err := os.Stat(opts.Dir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("smtptest: Dir %q is not a directory", opts.Dir)
		}
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("smtptest: %w", err)
	}
	if opts.ImplicitTLS {
		l = tls.NewListener(l, opts.TLSConfig)
	}
	s := &Server{
		opts:       opts,
		listener:   l,
		addr:       l.Addr().String(),
		serveErr:   make(chan error, 1),
		failNext:   opts.FailNext,
		replyDelay: opts.ReplyDelay,
		arrived:    make(chan struct{}),
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s.srv = smtp.NewServer(smtp.BackendFunc(s.newSession))
	s.srv.Domain = "smtptest.localhost"
	s.srv.AllowInsecureAuth = true
	s.srv.MaxMessageBytes = 25 << 20
	s.srv.MaxRecipients = 100
	s.srv.ReadTimeout = 30 * time.Second
	s.srv.WriteTimeout = 30 * time.Second
	s.srv.ErrorLog = errorLog{logger}
	if !opts.ImplicitTLS {
		s.srv.TLSConfig = opts.TLSConfig
	}
	go func() { s.serveErr <- s.srv.Serve(l) }()
	return s, nil
}

// NewServer starts a server on a free loopback port and closes it when the
// test ends.
func NewServer(t testing.TB, opts Options) *Server {
	t.Helper()
	s, err := Start("127.0.0.1:0", opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close SMTP server: %v", err)
		}
	})
	return s
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.addr }

// URL is the server's address as a sender is configured with it:
// smtp://user:pass@host:port, or smtps:// with ImplicitTLS.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.addr}
	if s.opts.ImplicitTLS {
		u.Scheme = "smtps"
	}
	if s.opts.Username != "" {
		u.User = url.UserPassword(s.opts.Username, s.opts.Password)
	}
	return u.String()
}

// Close stops listening, drops open connections and waits for the
// server's accept loop to end. Later calls return the first call's result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		// go-smtp closes only the listeners Serve has registered, and Serve
		// may not have started yet: close ours too.
		err := s.srv.Close()
		if lerr := s.listener.Close(); lerr != nil && !errors.Is(lerr, net.ErrClosed) {
			err = errors.Join(err, lerr)
		}
		err = errors.Join(err, <-s.serveErr)
		if err != nil {
			s.closeErr = fmt.Errorf("smtptest: close: %w", err)
		}
	})
	return s.closeErr
}

// Messages returns the messages accepted so far, oldest first, each with
// Disconnected as of this call.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshot()
}

// snapshot copies the messages and stamps each with the end of its
// connection. s.mu must be held.
func (s *Server) snapshot() []Message {
	msgs := slices.Clone(s.messages)
	for i := range msgs {
		msgs[i].Disconnected = s.conns[msgs[i].Session-1].closed
	}
	return msgs
}

// WaitMessages waits until at least n messages have been accepted and
// returns all of them, or returns ctx's error.
func (s *Server) WaitMessages(ctx context.Context, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		if len(s.messages) >= n {
			msgs := s.snapshot()
			s.mu.Unlock()
			return msgs, nil
		}
		arrived := s.arrived
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("smtptest: waiting for %d messages: %w", n, context.Cause(ctx))
		case <-arrived:
		}
	}
}

// SetFailNext makes the server reject the next n messages with a 451, as
// Options.FailNext does at start.
func (s *Server) SetFailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

// SetReplyDelay changes Options.ReplyDelay for the messages that arrive
// from now on.
func (s *Server) SetReplyDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replyDelay = d
}

// delay is how long to hold the reply to the message just received.
func (s *Server) delay() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replyDelay
}

// connected records a new connection and returns its session number and
// when it opened.
func (s *Server) connected() (int, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	s.conns = append(s.conns, connTimes{opened: now})
	return len(s.conns), now
}

// disconnected records the end of connection n.
func (s *Server) disconnected(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[n-1].closed = time.Now()
}

// takeFailure reports whether the message just received must be rejected,
// counting it against FailNext.
func (s *Server) takeFailure() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failNext <= 0 {
		return false
	}
	s.failNext--
	return true
}

// keep stores an accepted message (and its files, with Dir) and wakes the
// waiters.
func (s *Server) keep(m Message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.Dir != "" {
		if err := save(s.opts.Dir, len(s.messages)+1, m); err != nil {
			return err
		}
	}
	s.messages = append(s.messages, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
	return nil
}

// errorLog adapts go-smtp's Printf-style logger to slog.
type errorLog struct{ l *slog.Logger }

func (e errorLog) Printf(format string, v ...any) {
	e.l.Warn("smtptest: " + fmt.Sprintf(format, v...))
}

func (e errorLog) Println(v ...any) { e.l.Warn("smtptest: " + fmt.Sprint(v...)) }
