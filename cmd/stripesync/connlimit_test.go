package main

import (
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// TestConnLimiterFreesSlotsOnClose: over the per-client cap a connection
// is closed at once, another address still gets in, and closing a held
// connection lets the next one from the first address in.
func TestConnLimiterFreesSlotsOnClose(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := limitConns(raw, 0, 2, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer ln.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	dial := func(from string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
		c, err := d.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	held := func(what string) net.Conn {
		t.Helper()
		select {
		case c := <-accepted:
			return c
		case <-time.After(5 * time.Second):
			t.Fatalf("%s was not accepted", what)
			return nil
		}
	}

	dial("127.0.0.2")
	first := held("the first connection from 127.0.0.2")
	dial("127.0.0.2")
	held("the second connection from 127.0.0.2")
	third := dial("127.0.0.2")
	if !closedByServer(third, 5*time.Second) {
		t.Error("the third connection from 127.0.0.2 is open, over a cap of 2")
	}
	dial("127.0.0.3")
	held("a connection from 127.0.0.3 while 127.0.0.2 is at its cap")

	first.Close()
	first.Close() // the server may close twice; the slot is freed once
	dial("127.0.0.2")
	held("a connection from 127.0.0.2 after one of its two was closed")
	if c := dial("127.0.0.2"); !closedByServer(c, 5*time.Second) {
		t.Error("a double Close freed two slots: 127.0.0.2 holds more than 2")
	}
}
