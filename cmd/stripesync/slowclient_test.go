package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
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
