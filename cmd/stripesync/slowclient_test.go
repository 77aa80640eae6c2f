package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"testing"
	"time"

	"github.com/stripesync/stripesync/stripeclient/stripetest"
)

// TestSlowBodyIsCut: a client trickling a webhook body one byte at a time
// loses its connection once STRIPESYNC_HTTP_READ_TIMEOUT has passed, and a
// normal webhook sent meanwhile is accepted.
func TestSlowBodyIsCut(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon")
	}
	const secret = "whsec_slowClientTest0123456789"
	_, env := emulatorEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "ledger.db"), 0)
	env = append(env, "STRIPE_WEBHOOK_SECRET="+secret, "STRIPESYNC_HTTP_READ_TIMEOUT=1s")
	d := startDaemon(t, env)

	conn, err := net.Dial("tcp", d.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /stripe/webhook HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{", d.addr)
	cut := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		// The server answers (408 or a closed connection) when it gives up.
		buf := make([]byte, 512)
		for {
			if _, err := conn.Read(buf); err != nil {
				break
			}
		}
		cut <- time.Since(start)
	}()
	trickle := time.NewTicker(200 * time.Millisecond)
	defer trickle.Stop()

	body := []byte(`{"id":"evt_slow_client_ok","object":"event","type":"customer.created","created":1764660000,"livemode":false,"api_version":"2023-10-16","data":{"object":{"id":"cus_X","object":"customer"}}}`)
	req, _ := http.NewRequest("POST", "http://"+d.addr+"/stripe/webhook", bytes.NewReader(body))
	req.Header.Set("Stripe-Signature", stripetest.SignPayload(body, secret, time.Now()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a normal webhook beside the slow one: %d", resp.StatusCode)
	}

	deadline := time.After(15 * time.Second)
	for {
		select {
		case took := <-cut:
			t.Logf("the trickled body was cut after %s", took.Round(10*time.Millisecond))
			if took > 10*time.Second {
				t.Errorf("the trickled body held its connection %s with a 1 s read timeout", took)
			}
			return
		case <-trickle.C:
			conn.Write([]byte(" ")) // one byte, never the whole body
		case <-deadline:
			t.Fatal("a body trickled one byte every 200 ms is still being read after 15 s")
		}
	}
}

// openSlowClients opens n connections to addr, each from the local address
// local(i), and starts a request on each whose headers never end.
func openSlowClients(tb testing.TB, addr string, n int, local func(i int) string) []net.Conn {
	tb.Helper()
	conns := make([]net.Conn, 0, n)
	for i := range n {
		dialer := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local(i))}}
		c, err := dialer.Dial("tcp", addr)
		if err != nil {
			tb.Fatalf("slow client %d: %v", i, err)
		}
		tb.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "POST /stripe/webhook HTTP/1.1\r\nHost: %s\r\nX-Slow: ", addr)
		conns = append(conns, c)
	}
	return conns
}

// closedByServer reports whether the server has closed c: a read returns at
// once (EOF, reset) rather than timing out.
func closedByServer(c net.Conn, wait time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(wait))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// sendWebhooks posts n signed webhooks from senders keep-alive clients and
// returns each one's latency; a non-200 answer fails tb.
func sendWebhooks(tb testing.TB, addr, secret, prefix string, n, senders int) []time.Duration {
	tb.Helper()
	var (
		mu  gosync.Mutex
		lat = make([]time.Duration, 0, n)
		wg  gosync.WaitGroup
	)
	for s := range senders {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			defer client.CloseIdleConnections()
			for i := s; i < n; i += senders {
				body := fmt.Appendf(nil, `{"id":"evt_%s_%06d","object":"event","type":"customer.created","created":1764660000,"livemode":false,"api_version":"2023-10-16","data":{"object":{"id":"cus_X","object":"customer"}}}`, prefix, i)
				req, _ := http.NewRequest("POST", "http://"+addr+"/stripe/webhook", bytes.NewReader(body))
				req.Header.Set("Stripe-Signature", stripetest.SignPayload(body, secret, time.Now()))
				t0 := time.Now()
				resp, err := client.Do(req)
				took := time.Since(t0)
				if err != nil {
					tb.Errorf("webhook %d beside the slow clients: %v", i, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					tb.Errorf("webhook %d beside the slow clients: %d", i, resp.StatusCode)
					return
				}
				mu.Lock()
				lat = append(lat, took)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return lat
}

// TestSlowClientsCannotStarveWebhooks: 200 connections from one address
// that never finish their headers get the per-client cap (100) and no
// more, the rest are closed at once, and 1,000 signed webhooks from
// another address are all accepted meanwhile.
func TestSlowClientsCannotStarveWebhooks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon")
	}
	const secret, perClient = "whsec_slowClientTest0123456789", 100
	_, env := emulatorEnv(t, "sqlite:"+filepath.Join(t.TempDir(), "ledger.db"), 0)
	env = append(env, "STRIPE_WEBHOOK_SECRET="+secret, fmt.Sprintf("STRIPESYNC_HTTP_MAX_CONNS_PER_CLIENT=%d", perClient))
	d := startDaemon(t, env)

	slow := openSlowClients(t, d.addr, 2*perClient, func(int) string { return "127.0.0.2" })
	lat := sendWebhooks(t, d.addr, secret, "beside_slow", 1000, 8)
	if len(lat) != 1000 {
		t.Fatalf("%d of 1,000 webhooks accepted beside 200 slow connections", len(lat))
	}
	closed := 0
	for _, c := range slow {
		if closedByServer(c, 10*time.Millisecond) {
			closed++
		}
	}
	if closed != perClient {
		t.Errorf("%d of the %d slow connections from one address were closed, want %d (the cap is %d)", closed, len(slow), len(slow)-perClient, perClient)
	}
	if !strings.Contains(d.log.From(0), "refusing connections over the cap") {
		t.Errorf("no warning about the refused connections; log:\n%s", d.log.From(0))
	}
}

// BenchmarkWebhooksBesideSlowClients measures 1,000 signed webhooks from 8
// keep-alive senders while 200 connections, each from an address of its
// own (127.0.0.2 …), hold requests whose headers never end: the p99 of the
// webhooks is the figure (target < 50 ms).
func BenchmarkWebhooksBesideSlowClients(b *testing.B) {
	const secret = "whsec_slowClientTest0123456789"
	_, env := emulatorEnv(b, "sqlite:"+filepath.Join(b.TempDir(), "ledger.db"), 0)
	env = append(env, "STRIPE_WEBHOOK_SECRET="+secret, "STRIPESYNC_LOG_LEVEL=warn")
	d := startDaemon(b, env)
	slow := openSlowClients(b, d.addr, 200, func(i int) string { return fmt.Sprintf("127.0.%d.%d", 1+i/250, 2+i%250) })
	var lat []time.Duration
	round := 0
	for b.Loop() {
		round++
		lat = append(lat, sendWebhooks(b, d.addr, secret, fmt.Sprintf("bench%d", round), 1000, 8)...)
	}
	b.StopTimer()
	for i, c := range slow {
		if closedByServer(c, time.Millisecond) {
			b.Fatalf("slow connection %d was closed during the run; the figure is not beside 200 of them", i)
		}
	}
	slices.Sort(lat)
	q := func(f float64) float64 { return float64(lat[int(f*float64(len(lat)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}
