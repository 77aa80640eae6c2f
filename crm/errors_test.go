package crm

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm/crmtest"
)

func TestRequestLimitIsELimitAtOnce(t *testing.T) {
	e := newEnv(t, crmtest.Options{APILimit: 2}, func(c *Config) { c.RetryBaseDelay = 2 * time.Second })
	id := seedAccounts(e.sf, 1)[0]
	for range 2 {
		if _, err := e.c.Get(t.Context(), "Account", id, nil); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	_, err := e.c.Get(t.Context(), "Account", id, nil)
	wantCode(t, err, stripesync.ELIMIT)
	if d := time.Since(start); d > time.Second {
		t.Errorf("ELIMIT took %v, want no backoff", d)
	}
	if ae := apiErrorOf(t, err); ae.Code != "REQUEST_LIMIT_EXCEEDED" || ae.Status != 403 {
		t.Errorf("APIError = %+v", ae)
	}
	if got := e.sf.Calls().LimitRefused; got != 1 {
		t.Errorf("refused calls = %d, want 1 (no retry)", got)
	}
	if used, max := e.c.Usage(); used != 2 || max != 2 {
		t.Errorf("Usage() = %d/%d, want 2/2", used, max)
	}
	if !stripesync.Retryable(err) {
		t.Error("ELIMIT should be retryable later")
	}
}

func TestHTML503RetriedThenUnavailable(t *testing.T) {
	e := newEnv(t, crmtest.Options{}, nil)
	seedAccounts(e.sf, 1)
	e.sf.InjectFault(crmtest.Fault{Kind: crmtest.FaultHTML503, Path: "/query"})
	var err error
	for _, err = range e.c.Query(t.Context(), "SELECT Id FROM Account") {
	}
	wantCode(t, err, stripesync.EUNAVAILABLE)
	if ae := apiErrorOf(t, err); ae.Status != 503 || ae.Code != "" {
		t.Errorf("APIError = %+v, want a non-JSON 503", ae)
	}
	if got := e.sf.Calls().Faults; got != 1+defaultRetries {
		t.Errorf("attempts = %d, want %d", got, 1+defaultRetries)
	}

	// A short outage is ridden out.
	e.sf.ClearFaults()
	e.sf.InjectFault(crmtest.Fault{Kind: crmtest.FaultHTML503, Times: 2})
	n := 0
	for _, err := range e.c.Query(t.Context(), "SELECT Id FROM Account") {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Errorf("read %d records, want 1", n)
	}
}

func TestUnableToLockRowRetried(t *testing.T) {
	e := newEnv(t, crmtest.Options{}, nil)
	ids := seedAccounts(e.sf, 3)

	// Single-record call: a top-level 400 UNABLE_TO_LOCK_ROW.
	e.sf.InjectFault(crmtest.Fault{Kind: crmtest.FaultUnableToLockRow, Times: 2, Path: "/sobjects/"})
	created, err := e.c.Upsert(t.Context(), "Payment__c", "Stripe_Payment_Id__c", "pi_1", Record{"Status__c": "Succeeded"})
	if err != nil || !created {
		t.Fatalf("Upsert = %v, %v, want created after two lock failures", created, err)
	}
	if got := e.sf.Calls().Upsert; got != 3 {
		t.Errorf("upsert calls = %d, want 3", got)
	}

	// Collections: per-item statusCode; the items are resent.
	e.sf.ClearFaults()
	e.sf.InjectFault(crmtest.Fault{Kind: crmtest.FaultUnableToLockRow, Times: 1, Path: "/composite/"})
	recs := []Record{{"Id": ids[0], "Phone": "1"}, {"Id": ids[1], "Phone": "2"}}
	perRecord, err := e.c.UpdateRecords(t.Context(), "Account", recs)
	if err != nil || slices.ContainsFunc(perRecord, func(e error) bool { return e != nil }) {
		t.Fatalf("UpdateRecords = %v, %v", perRecord, err)
	}
	if got := e.sf.Calls().Collections; got != 2 {
		t.Errorf("collection calls = %d, want 2", got)
	}

	// A row that stays locked ends as EUNAVAILABLE for that record only.
	e.sf.ClearFaults()
	e.sf.InjectFault(crmtest.Fault{Kind: crmtest.FaultUnableToLockRow, Path: "/composite/"})
	perRecord, err = e.c.UpdateRecords(t.Context(), "Account", recs)
	if err != nil {
		t.Fatalf("UpdateRecords error = %v, want only item errors", err)
	}
	for _, rerr := range perRecord {
		wantCode(t, rerr, stripesync.EUNAVAILABLE)
		if ae := apiErrorOf(t, rerr); ae.Code != "UNABLE_TO_LOCK_ROW" {
			t.Errorf("item APIError = %+v", ae)
		}
	}
	if got := e.sf.Calls().Collections; got != 2+1+defaultRetries {
		t.Errorf("collection calls = %d, want %d", got, 2+1+defaultRetries)
	}
}

// TestLostResponseRetried: the write is applied but its answer is lost;
// the client resends the (idempotent) update and reports success.
func TestLostResponseRetried(t *testing.T) {
	e := newEnv(t, crmtest.Options{}, nil)
	ids := seedAccounts(e.sf, 2)
	e.sf.InjectFault(crmtest.Fault{Kind: crmtest.FaultDropResponse, Times: 1, Path: "/composite/"})
	perRecord, err := e.c.UpdateRecords(t.Context(), "Account", []Record{{"Id": ids[0], "Phone": "1"}, {"Id": ids[1], "Phone": "2"}})
	if err != nil || perRecord[0] != nil || perRecord[1] != nil {
		t.Fatalf("UpdateRecords = %v, %v", perRecord, err)
	}
	if got := e.sf.Calls().Collections; got != 2 {
		t.Errorf("collection calls = %d, want 2", got)
	}
	if got, _ := e.sf.Get("Account", ids[1]); got["Phone"] != "2" {
		t.Errorf("Phone = %v", got["Phone"])
	}
}

func TestReauthOnlyOnce(t *testing.T) {
	e := newEnv(t, crmtest.Options{}, nil)
	id := seedAccounts(e.sf, 1)[0]
	e.sf.InjectFault(crmtest.Fault{Kind: crmtest.FaultSessionExpired})
	_, err := e.c.Get(t.Context(), "Account", id, nil)
	wantCode(t, err, stripesync.EUNAUTHORIZED)
	if c := e.sf.Calls(); c.Token != 2 || c.Faults != 2 {
		t.Errorf("token calls, faults = %d, %d, want 2, 2", c.Token, c.Faults)
	}
	if strings.Contains(err.Error(), "!AR") || strings.Contains(e.logs.String(), "!AR") {
		t.Errorf("an access token leaked: %v\n%s", err, e.logs.String())
	}
}

func TestOnCall(t *testing.T) {
	var mu sync.Mutex
	var got []string
	e := newEnv(t, crmtest.Options{APILimit: 5}, func(c *Config) {
		c.MaxRetries = -1
		c.OnCall = func(outcome string, status int) {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, outcome+" "+http.StatusText(status))
		}
	})
	id := seedAccounts(e.sf, 1)[0]
	e.c.Get(t.Context(), "Account", id, nil)
	e.c.Get(t.Context(), "Account", id, []string{"Bogus__c"})
	e.sf.InjectFault(crmtest.Fault{Kind: crmtest.FaultHTML503, Times: 1})
	for range 5 { // a 503 (not counted as API usage), three more calls, then the limit
		e.c.Get(t.Context(), "Account", id, nil)
	}
	e.sf.Close()
	e.c.Get(t.Context(), "Account", id, nil)
	want := []string{"ok OK", "client_error Bad Request", "server_error Service Unavailable", "ok OK", "ok OK", "ok OK",
		"rate_limited Forbidden", "network_error "}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("OnCall outcomes (-want +got):\n%s", diff)
	}
}

func TestNetworkErrorRetried(t *testing.T) {
	e := newEnv(t, crmtest.Options{}, nil)
	id := seedAccounts(e.sf, 1)[0]
	if _, err := e.c.Get(t.Context(), "Account", id, nil); err != nil {
		t.Fatal(err)
	}
	e.sf.Close()
	_, err := e.c.Get(t.Context(), "Account", id, nil)
	wantCode(t, err, stripesync.EUNAVAILABLE)
	if !strings.Contains(err.Error(), "salesforce get Account") {
		t.Errorf("error = %v", err)
	}
}

func TestParseLimitInfo(t *testing.T) {
	tests := []struct {
		in        string
		used, max int
		ok        bool
	}{
		{"api-usage=10018/100000", 10018, 100000, true},
		{"api-usage=25/15000; api-bursts=1/750", 25, 15000, true},
		{" API-Usage = 7 / 9 ", 7, 9, true},
		{"api-bursts=1/750", 0, 0, false},
		{"api-usage=abc/100", 0, 0, false},
		{"api-usage=5", 0, 0, false},
		{"", 0, 0, false},
	}
	for _, tt := range tests {
		used, max, ok := parseLimitInfo(tt.in)
		if used != tt.used || max != tt.max || ok != tt.ok {
			t.Errorf("parseLimitInfo(%q) = %d, %d, %v, want %d, %d, %v", tt.in, used, max, ok, tt.used, tt.max, tt.ok)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err   APIError
		code  stripesync.ErrorCode
		retry bool
	}{
		{APIError{Status: 401, Code: "INVALID_SESSION_ID"}, stripesync.EUNAUTHORIZED, false},
		{APIError{Status: 403, Code: "REQUEST_LIMIT_EXCEEDED", Message: "TotalRequests Limit exceeded."}, stripesync.ELIMIT, false},
		{APIError{Status: 403, Code: "REQUEST_LIMIT_EXCEEDED", Message: "ConcurrentPerOrgLongTxn Limit exceeded."}, stripesync.ERATELIMITED, false},
		{APIError{Status: 400, Code: "UNABLE_TO_LOCK_ROW"}, stripesync.EUNAVAILABLE, true},
		{APIError{Status: 503, Code: "SERVER_UNAVAILABLE"}, stripesync.EUNAVAILABLE, true},
		{APIError{Status: 502}, stripesync.EUNAVAILABLE, true},
		{APIError{Status: 400}, stripesync.EUNAVAILABLE, true},
		{APIError{Status: 500, Code: "SOMETHING"}, stripesync.EUNAVAILABLE, true},
		{APIError{Status: 404, Code: "NOT_FOUND"}, stripesync.ENOTFOUND, false},
		{APIError{Status: 200, Code: "ENTITY_IS_DELETED"}, stripesync.ENOTFOUND, false},
		{APIError{Status: 300, Code: "MULTIPLE_CHOICES"}, stripesync.ECONFLICT, false},
		{APIError{Status: 400, Code: "DUPLICATE_VALUE"}, stripesync.ECONFLICT, false},
		{APIError{Status: 400, Code: "INVALID_FIELD"}, stripesync.EINVALID, false},
		{APIError{Status: 400, Code: "MALFORMED_QUERY"}, stripesync.EINVALID, false},
		{APIError{Status: 405, Code: "METHOD_NOT_ALLOWED"}, stripesync.EINVALID, false},
	}
	for _, tt := range tests {
		code, retry := classify(&tt.err)
		if code != tt.code || retry != tt.retry {
			t.Errorf("classify(%+v) = %s, %v, want %s, %v", tt.err, code, retry, tt.code, tt.retry)
		}
	}
}

func TestParseAPIError(t *testing.T) {
	tests := []struct {
		status int
		body   string
		want   APIError
	}{
		{400, `[{"message":"No such column","errorCode":"INVALID_FIELD","fields":["Foo__c"]}]`,
			APIError{Status: 400, Code: "INVALID_FIELD", Message: "No such column", Fields: []string{"Foo__c"}}},
		{400, `{"error":"invalid_grant","error_description":"authentication failure"}`,
			APIError{Status: 400, Code: "invalid_grant", Message: "authentication failure"}},
		{503, `<html><body>down</body></html>`,
			APIError{Status: 503, Message: "Service Unavailable (response was not Salesforce JSON)"}},
		{300, `["/services/data/v62.0/sobjects/Account/001"]`,
			APIError{Status: 300, Code: "MULTIPLE_CHOICES", Message: "more than one record has this external id"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(&tt.want, parseAPIError(tt.status, []byte(tt.body))); diff != "" {
			t.Errorf("parseAPIError(%d, %s) (-want +got):\n%s", tt.status, tt.body, diff)
		}
	}
	got := (&APIError{Status: 400, Code: "INVALID_FIELD", Message: "No such column", Fields: []string{"A", "B"}}).Error()
	if got != "INVALID_FIELD: No such column (HTTP 400) [fields: A, B]" {
		t.Errorf("Error() = %q", got)
	}
}
