package httpapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stripesync/stripesync/store"
	"github.com/stripesync/stripesync/store/storetest"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
)

// BenchmarkStripeWebhook measures signed webhook events accepted durably
// through the whole HTTP path (read, verify, group-committed insert, 200)
// with 1, 8 and 32 concurrent senders on SQLite and Postgres. Each sender
// posts over its own keep-alive connection. Reported: events/s and the
// p50/p99 latency of one delivery.
func BenchmarkStripeWebhook(b *testing.B) {
	dbs := map[string]func(testing.TB) *store.DB{"sqlite": storetest.OpenSQLite, "postgres": storetest.OpenPostgres}
	for _, dialect := range []string{"sqlite", "postgres"} {
		for _, senders := range []int{1, 8, 32} {
			b.Run(fmt.Sprintf("%s/senders=%d", dialect, senders), func(b *testing.B) {
				benchWebhook(b, dbs[dialect](b), senders)
			})
		}
	}
}

func benchWebhook(b *testing.B, db *store.DB, senders int) {
	srv, _ := webhookServer(b, db)
	// Pre-sign every body so that the senders measure the server, not
	// their own HMAC work. A realistic event is about 1.5 KB.
	pad := strings.Repeat("x", 1200)
	bodies := make([][]byte, b.N)
	sigs := make([]string, b.N)
	now := time.Now()
	for i := range bodies {
		bodies[i] = []byte(fmt.Sprintf(`{"id":"evt_b%d_%d","object":"event","api_version":"2023-10-16","created":%d,"type":"payment_intent.succeeded","data":{"object":{"id":"pi_b%d","object":"payment_intent","description":%q}}}`,
			senders, i, now.Unix(), i, pad))
		sigs[i] = stripetest.SignPayload(bodies[i], whsec, now)
	}
	elapsed, lat := load(b, senders, func(client *http.Client, i int) error {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/stripe/webhook", bytes.NewReader(bodies[i]))
		req.Header.Set("Stripe-Signature", sigs[i])
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	})
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	reportLatency(b, lat)
}
