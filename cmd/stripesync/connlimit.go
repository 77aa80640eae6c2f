package main

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"
)

// rejectWarnEvery spaces out the warnings about refused connections: a
// client hammering the cap gets one line per period, with a count, not one
// per connection.
const rejectWarnEvery = 10 * time.Second

// connLimiter is a listener that holds at most max connections in all and
// at most perClient from one remote address (0 turns either cap off).
//
// A connection over a cap is closed as soon as it is accepted. Waiting in
// Accept instead, as a plain limiting listener does, would leave every
// other client's connection queued in the kernel behind the one client
// that holds the slots: slow or idle connections from one address must not
// starve Stripe's and Salesforce's deliveries. The read and idle timeouts
// of the HTTP server bound how long a held slot can be kept.
type connLimiter struct {
	net.Listener
	max, perClient int
	logger         *slog.Logger

	mu       sync.Mutex
	total    int
	byClient map[netip.Addr]int
	refused  int // since the last warning
	warnedAt time.Time
}

func limitConns(ln net.Listener, max, perClient int, logger *slog.Logger) net.Listener {
	if max <= 0 && perClient <= 0 {
		return ln
	}
	return &connLimiter{Listener: ln, max: max, perClient: perClient, logger: logger, byClient: map[netip.Addr]int{}}
}

// Accept returns the next connection within the caps, closing those over
// them.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		client := remoteAddr(c)
		if l.admit(client) {
			return &limitedConn{Conn: c, release: func() { l.release(client) }}, nil
		}
		c.Close()
	}
}

// admit takes a slot for client, or counts a refusal (and warns, at most
// once per rejectWarnEvery).
func (l *connLimiter) admit(client netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	full := l.max > 0 && l.total >= l.max
	crowded := l.perClient > 0 && l.byClient[client] >= l.perClient
	if !full && !crowded {
		l.total++
		l.byClient[client]++
		return true
	}
	l.refused++
	if now := time.Now(); now.Sub(l.warnedAt) >= rejectWarnEvery {
		l.logger.Warn("refusing connections over the cap", "client", client.String(), "refused", l.refused,
			"open", l.total, "open_from_client", l.byClient[client],
			"max_conns", l.max, "max_conns_per_client", l.perClient)
		l.refused, l.warnedAt = 0, now
	}
	return false
}

func (l *connLimiter) release(client netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total--
	if l.byClient[client]--; l.byClient[client] <= 0 {
		delete(l.byClient, client)
	}
}

// remoteAddr is the IP a connection comes from (the zero Addr for a
// listener that is not TCP, which then counts as one client).
func remoteAddr(c net.Conn) netip.Addr {
	if tcp, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return tcp.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// limitedConn gives its slot back when it is closed, once however often
// the HTTP server closes it.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
