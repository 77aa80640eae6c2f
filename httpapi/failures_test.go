package httpapi_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/httpapi"
	"github.com/stripesync/stripesync/store/storetest"
)

// TestFailureRoutes lists, reads, retries and dismisses entries of a real
// SQLite failure inbox over HTTP, with a staff token.
func TestFailureRoutes(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := t.Context()
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	declined, err := db.RecordFailure(ctx, stripesync.Failure{
		Key: "payment:pi_1", Source: stripesync.FailureAutoPay, InvoiceID: "a0B1", PaymentID: "pi_1",
		Amount: stripesync.Money{Amount: 5000, Currency: "USD"}, Code: "expired_card", Message: "Your card has expired.",
		NextStep: stripesync.NextStepFor("expired_card"), Created: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.RecordFailure(ctx, stripesync.Failure{Key: "payment:pi_2", Source: stripesync.FailureStaff, Created: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	var retried []string
	srv := newServer(t, httpapi.Config{Staff: staffAuth, Failures: &httpapi.FailureConfig{
		List: db.ListFailures, Get: db.Failure,
		Retry: func(ctx context.Context, id int64, staff string) (stripesync.Failure, error) {
			retried = append(retried, staff)
			return db.SetFailureStatus(ctx, id, stripesync.FailureResolved, staff, "retried", now.Add(time.Hour))
		},
		Dismiss: func(ctx context.Context, id int64, staff, note string) (stripesync.Failure, error) {
			return db.SetFailureStatus(ctx, id, stripesync.FailureDismissed, staff, note, now.Add(time.Hour))
		},
	}})
	auth := "Bearer " + staffToken

	if res := call(t, srv.URL, "GET", "/v1/failures", "", ""); res.status != http.StatusUnauthorized {
		t.Errorf("without a token: %d", res.status)
	}
	list := call(t, srv.URL, "GET", "/v1/failures?status=open", auth, "")
	failures, _ := list.body["failures"].([]any)
	if list.status != http.StatusOK || len(failures) != 2 {
		t.Fatalf("open failures: %d %s", list.status, list.raw)
	}
	first := failures[1].(map[string]any) // newest first
	if first["source"] != "auto-pay" || first["amount"] != "50.00" || first["currency"] != "USD" || first["code"] != "expired_card" ||
		first["next_step"] != stripesync.NextStepFor("expired_card") || first["status"] != "open" {
		t.Errorf("the auto-pay failure: %v", first)
	}
	if res := call(t, srv.URL, "GET", "/v1/failures?status=lost", auth, ""); res.status != http.StatusBadRequest {
		t.Errorf("an unknown status: %d", res.status)
	}

	path := "/v1/failures/" + strconv.FormatInt(declined.ID, 10)
	if res := call(t, srv.URL, "POST", path+"/dismiss", auth, ""); res.status != http.StatusOK || res.body["status"] != "dismissed" {
		t.Errorf("dismiss: %d %s", res.status, res.raw)
	}
	one := call(t, srv.URL, "GET", path, auth, "")
	history, _ := one.body["history"].([]any)
	if one.status != http.StatusOK || len(history) != 2 || !strings.Contains(one.raw, `"staff":"alice"`) {
		t.Errorf("the dismissed failure and its history: %d %s", one.status, one.raw)
	}
	if after := call(t, srv.URL, "GET", "/v1/failures?status=open", auth, ""); len(after.body["failures"].([]any)) != 1 {
		t.Errorf("the dismissed failure is still open: %s", after.raw)
	}
	if res := call(t, srv.URL, "POST", "/v1/failures/"+strconv.FormatInt(declined.ID+1, 10)+"/retry", auth, ""); res.status != http.StatusOK || res.body["status"] != "resolved" || len(retried) != 1 || retried[0] != "alice" {
		t.Errorf("retry: %d %s (retried by %v)", res.status, res.raw, retried)
	}
	for _, p := range []string{"/v1/failures/999", "/v1/failures/x", "/v1/failures/1/explode"} {
		method := "GET"
		if strings.Count(p, "/") == 4 {
			method = "POST"
		}
		if res := call(t, srv.URL, method, p, auth, ""); res.status != http.StatusNotFound {
			t.Errorf("%s %s: %d, want 404", method, p, res.status)
		}
	}
}
