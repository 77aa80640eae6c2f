package crm

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm/crmtest"
)

func TestQueryPaging(t *testing.T) {
	e := newEnv(t, crmtest.Options{}, func(c *Config) { c.PageSize = 1000 })
	want := seedAccounts(e.sf, 5000)
	var got []string
	for r, err := range e.c.Query(t.Context(), "SELECT Id, Name FROM Account ORDER BY Id") {
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := r["attributes"]; ok {
			t.Fatal("record still has attributes")
		}
		got = append(got, r.String("Id"))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ids (-want +got):\n%s", diff)
	}
	if c := e.sf.Calls(); c.Query != 1 || c.QueryMore != 4 {
		t.Errorf("Query, QueryMore calls = %d, %d, want 1, 4 (5 pages of 1000)", c.Query, c.QueryMore)
	}
}

func TestQueryStreams(t *testing.T) {
	e := newEnv(t, crmtest.Options{}, func(c *Config) { c.PageSize = 200 })
	seedAccounts(e.sf, 1000)
	n := 0
	for _, err := range e.c.QueryAll(t.Context(), "SELECT Id FROM Account") {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n == 1 {
			// The first record arrives before any later page is asked for.
			if got := e.sf.Calls().QueryMore; got != 0 {
				t.Fatalf("QueryMore calls at the first record = %d, want 0", got)
			}
		}
		if n == 201 {
			if got := e.sf.Calls().QueryMore; got != 1 {
				t.Fatalf("QueryMore calls at record 201 = %d, want 1", got)
			}
			break
		}
	}
	// Stopping early fetches nothing more.
	if got := e.sf.Calls().QueryMore; got != 1 {
		t.Errorf("QueryMore calls after break = %d, want 1", got)
	}
}

func TestQueryAllSeesDeletes(t *testing.T) {
	e := newEnv(t, crmtest.Options{}, nil)
	ids := seedAccounts(e.sf, 3)
	e.sf.Delete("Account", ids[1])
	collect := func(rows func(func(Record, error) bool)) map[string]bool {
		out := map[string]bool{}
		for r, err := range rows {
			if err != nil {
				t.Fatal(err)
			}
			out[r.String("Id")] = r.Bool("IsDeleted")
		}
		return out
	}
	soql := "SELECT Id, IsDeleted FROM Account"
	if diff := cmp.Diff(map[string]bool{ids[0]: false, ids[2]: false}, collect(e.c.Query(t.Context(), soql))); diff != "" {
		t.Errorf("Query (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]bool{ids[0]: false, ids[1]: true, ids[2]: false}, collect(e.c.QueryAll(t.Context(), soql))); diff != "" {
		t.Errorf("QueryAll (-want +got):\n%s", diff)
	}
}

func TestQueryError(t *testing.T) {
	e := newEnv(t, crmtest.Options{}, nil)
	for _, tt := range []struct {
		soql string
		code stripesync.ErrorCode
		sf   string
	}{
		{"SELECT Id, Bogus__c FROM Account", stripesync.EINVALID, "INVALID_FIELD"},
		{"SELECT Id FROM", stripesync.EINVALID, "MALFORMED_QUERY"},
	} {
		var err error
		n := 0
		for r, e := range e.c.Query(t.Context(), tt.soql) {
			n++
			if r != nil {
				t.Errorf("error yielded with record %v", r)
			}
			err = e
		}
		if n != 1 {
			t.Errorf("%s: %d yields, want one error", tt.soql, n)
		}
		wantCode(t, err, tt.code)
		if ae := apiErrorOf(t, err); ae.Code != tt.sf || ae.Status != 400 {
			t.Errorf("%s: APIError = %+v, want 400 %s", tt.soql, ae, tt.sf)
		}
	}
}

// TestSessionExpiryMidPaging expires the session on the second page: the
// client renews it once and the caller never notices.
func TestSessionExpiryMidPaging(t *testing.T) {
	e := newEnv(t, crmtest.Options{}, func(c *Config) { c.PageSize = 200 })
	seedAccounts(e.sf, 600)
	e.sf.InjectFault(crmtest.Fault{Kind: crmtest.FaultSessionExpired, Times: 1, Path: "/query/"})
	n := 0
	for _, err := range e.c.QueryAll(t.Context(), "SELECT Id FROM Account") {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 600 {
		t.Errorf("read %d records, want 600", n)
	}
	if c := e.sf.Calls(); c.Token != 2 || c.QueryMore != 3 {
		t.Errorf("Token, QueryMore calls = %d, %d, want 2, 3 (one renewal, one replay)", c.Token, c.QueryMore)
	}
}

// TestConcurrentReauth has 16 goroutines paging when every session
// expires at once: all 16 get 401, exactly one token request follows, and
// every goroutine finishes its query.
func TestConcurrentReauth(t *testing.T) {
	const workers = 16
	e := newEnv(t, crmtest.Options{}, func(c *Config) { c.PageSize = 200 })
	seedAccounts(e.sf, 600)
	var firstPage, expired sync.WaitGroup
	firstPage.Add(workers)
	expired.Add(1)
	counts := make([]int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			defer func() {
				if counts[w] == 0 { // failed before the barrier: release it
					firstPage.Done()
				}
			}()
			for _, err := range e.c.QueryAll(t.Context(), "SELECT Id FROM Account") {
				if err != nil {
					t.Error(err)
					return
				}
				counts[w]++
				if counts[w] == 1 {
					firstPage.Done()
					expired.Wait()
				}
			}
		})
	}
	firstPage.Wait()
	// Every worker now holds a full first page. Expire the sessions and slow
	// the org down, so that all 16 second-page requests are in flight with
	// the old token before the first 401 comes back.
	e.sf.ExpireSessions()
	e.sf.SetLatency(150 * time.Millisecond)
	expired.Done()
	wg.Wait()
	for w, n := range counts {
		if n != 600 {
			t.Errorf("worker %d read %d records, want 600", w, n)
		}
	}
	c := e.sf.Calls()
	if c.Token != 2 {
		t.Errorf("token calls = %d, want 2 (the first session and one renewal)", c.Token)
	}
	if c.Unauthorized != workers {
		t.Errorf("401s = %d, want %d", c.Unauthorized, workers)
	}
}

func TestRecordAccessors(t *testing.T) {
	var r Record
	if err := decodeJSON([]byte(`{"Name":"Acme","amount__c":1234.50,"Flag":true,"Stamp":"2024-05-01T12:34:56.789+0000","Null":null,"Bad":"yesterday"}`), &r); err != nil {
		t.Fatal(err)
	}
	if r.String("Amount__c") != "1234.50" {
		t.Errorf("String(Amount__c) = %q, want the exact number text", r.String("Amount__c"))
	}
	if _, ok := r["amount__c"].(json.Number); !ok {
		t.Errorf("amount decoded as %T, want json.Number", r["amount__c"])
	}
	if r.String("name") != "Acme" || r.String("Null") != "" || r.String("Missing") != "" || r.String("Flag") != "true" {
		t.Errorf("String accessors wrong: %v", r)
	}
	if !r.Bool("flag") || r.Bool("Name") {
		t.Error("Bool accessors wrong")
	}
	ts, err := r.Time("Stamp")
	if want := time.Date(2024, 5, 1, 12, 34, 56, 789e6, time.UTC); err != nil || !ts.Equal(want) {
		t.Errorf("Time(Stamp) = %v, %v, want %v", ts, err, want)
	}
	if ts, err := r.Time("Null"); err != nil || !ts.IsZero() {
		t.Errorf("Time(Null) = %v, %v", ts, err)
	}
	if _, err := r.Time("Bad"); stripesync.CodeOf(err) != stripesync.EINVALID {
		t.Errorf("Time(Bad) error = %v, want EINVALID", err)
	}
}
