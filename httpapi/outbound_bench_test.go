package httpapi_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm"
	"github.com/stripesync/stripesync/store"
	"github.com/stripesync/stripesync/store/storetest"
)

// BenchmarkOutboundMessages measures Outbound Messages of 100
// notifications (58 KB each, eight fields per sObject) through the whole listener: read,
// parse, org and object checks, one AcceptTriggers transaction, ack. One
// op is one message; every message carries new notification ids and
// record ids, so each stores 100 new pending rows. Senders post over their
// own keep-alive connections, 1 and 4 at a time, to a store on SQLite and
// on Postgres. Reported: notifications/s and the p50/p99 latency of one
// message.
func BenchmarkOutboundMessages(b *testing.B) {
	dbs := map[string]func(testing.TB) *store.DB{"sqlite": storetest.OpenSQLite, "postgres": storetest.OpenPostgres}
	for _, dialect := range []string{"sqlite", "postgres"} {
		for _, senders := range []int{1, 4} {
			b.Run(fmt.Sprintf("%s/senders=%d", dialect, senders), func(b *testing.B) {
				benchOutbound(b, dbs[dialect](b), senders)
			})
		}
	}
}

func benchOutbound(b *testing.B, db *store.DB, senders int) {
	srv, _ := triggerServer(b, db, nil)
	url := srv.URL + "/salesforce/outbound/" + triggerSecret
	// Render every message first, so that the senders measure the
	// listener, not their own formatting.
	bodies := make([][]byte, b.N)
	for i := range bodies {
		bodies[i] = envelope(orgID, notes(stripesync.ObjectAccount, i*crm.MaxOutboundNotifications, crm.MaxOutboundNotifications))
	}
	ack := crm.AckResponse()
	elapsed, lat := load(b, senders, func(client *http.Client, i int) error {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(bodies[i]))
		req.Header.Set("Content-Type", "text/xml; charset=utf-8")
		req.Header.Set("SOAPAction", `""`)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(got, ack) {
			return fmt.Errorf("message %d: %d %v\n%s", i, resp.StatusCode, err, got)
		}
		return nil
	})
	b.ReportMetric(float64(b.N*crm.MaxOutboundNotifications)/elapsed.Seconds(), "notifications/s")
	reportLatency(b, lat)
}
