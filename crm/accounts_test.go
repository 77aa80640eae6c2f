package crm

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm/crmtest"
)

func TestAccountsFields(t *testing.T) {
	clock := &manualClock{now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
	e := newEnv(t, crmtest.Options{Clock: clock.Now}, nil)
	full := e.sf.Insert("Account", map[string]any{
		"Name": "Acme", "Phone": "+1 555 0100", "Billing_Email__c": "ap@acme.example",
		"BillingStreet": "1 Main St", "BillingCity": "Springfield", "BillingState": "IL",
		"BillingPostalCode": "62701", "BillingCountry": "US", "CurrencyIsoCode": "usd",
		"Stripe_Mapping__c": "existing", "Stripe_Customer_Id__c": "cus_123", "Stripe_Sync_Error__c": "boom",
	})
	clock.Set(clock.Now().Add(time.Second))
	bad := e.sf.Insert("Account", map[string]any{"Name": "Bad policy", "Stripe_Mapping__c": "Sometimes"})
	clock.Set(clock.Now().Add(time.Second))
	gone := e.sf.Insert("Account", map[string]any{"Name": "Gone"})
	e.sf.Delete("Account", gone)

	var got []stripesync.Account
	for a, err := range e.c.Accounts(t.Context(), time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a)
	}
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	want := []stripesync.Account{
		{
			ID: full, Name: "Acme", Phone: "+1 555 0100", Email: "ap@acme.example",
			Address:  stripesync.Address{Line1: "1 Main St", City: "Springfield", State: "IL", PostalCode: "62701", Country: "US"},
			Currency: "USD", Policy: stripesync.PolicyExisting, StripeCustomerID: "cus_123", SyncError: "boom",
			ModStamp: t0,
		},
		// An unknown policy is reported through Policy "", not as an
		// iteration error.
		{ID: bad, Name: "Bad policy", Policy: "", ModStamp: t0.Add(time.Second)},
		{ID: gone, Name: "Gone", Policy: stripesync.PolicyCreate, ModStamp: t0.Add(2 * time.Second), Deleted: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Accounts (-want +got):\n%s", diff)
	}
	if c := e.sf.Calls(); c.QueryAll != 1 || c.Query != 0 {
		t.Errorf("QueryAll, Query calls = %d, %d, want 1, 0", c.QueryAll, c.Query)
	}
}

func TestAccountsSince(t *testing.T) {
	clock := &manualClock{}
	e := newEnv(t, crmtest.Options{Clock: clock.Now}, nil)
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	stamps := []time.Duration{0, 1500 * time.Millisecond, 3 * time.Second, 3 * time.Second}
	ids := make([]string, len(stamps))
	for i, d := range stamps {
		clock.Set(t0.Add(d))
		ids[i] = e.sf.Insert("Account", map[string]any{"Name": "a"})
	}
	// Two records share a stamp; ORDER BY SystemModstamp, Id keeps them in
	// id order.
	tests := []struct {
		since time.Time
		want  []string
	}{
		{time.Time{}, ids},
		{t0, ids},
		// 12:00:01.700 is sent as 12:00:01Z: the record at .500 is
		// included again rather than risk skipping one.
		{t0.Add(1700 * time.Millisecond), ids[1:]},
		{t0.Add(3 * time.Second), ids[2:]}, // >=, not >
		{t0.Add(4 * time.Second), nil},
		{t0.Add(3 * time.Second).In(time.FixedZone("EST", -5*3600)), ids[2:]},
	}
	for _, tt := range tests {
		var got []string
		for a, err := range e.c.Accounts(t.Context(), tt.since) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, a.ID)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Accounts(since %v) (-want +got):\n%s", tt.since, diff)
		}
	}
}

func TestAccountsSOQL(t *testing.T) {
	c, err := New(Config{ClientID: "id", ClientSecret: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	got := c.accountsSOQL(time.Date(2024, 5, 1, 14, 34, 56, 900e6, time.FixedZone("", 2*3600)))
	want := "SELECT Id, Name, Phone, Billing_Email__c, BillingStreet, BillingCity, BillingState, BillingPostalCode, " +
		"BillingCountry, Stripe_Mapping__c, CurrencyIsoCode, Stripe_Customer_Id__c, Stripe_Sync_Error__c, SystemModstamp, IsDeleted " +
		"FROM Account WHERE SystemModstamp >= 2024-05-01T12:34:56Z ORDER BY SystemModstamp ASC, Id ASC"
	if got != want {
		t.Errorf("accountsSOQL =\n%s\nwant\n%s", got, want)
	}
	if got := c.accountsSOQL(time.Time{}); strings.Contains(got, "WHERE") {
		t.Errorf("accountsSOQL(zero) = %s, want no WHERE", got)
	}
}

func TestWriteAccountSync(t *testing.T) {
	e := newEnv(t, crmtest.Options{}, nil)
	ids := seedAccounts(e.sf, 450)
	for _, id := range ids[:10] {
		e.sf.Update("Account", id, map[string]any{"Stripe_Sync_Error__c": "old failure"})
	}
	e.sf.Delete("Account", ids[7])
	synced := time.Date(2024, 5, 1, 12, 34, 56, 789e6, time.UTC)
	updates := make([]stripesync.AccountSyncUpdate, len(ids)+1)
	for i, id := range ids {
		updates[i] = stripesync.AccountSyncUpdate{AccountID: id, StripeCustomerID: "cus_" + id[10:], SyncedAt: synced}
	}
	updates[3].SyncError = strings.Repeat("é", 300)
	updates[3].StripeCustomerID = ""
	updates[450] = stripesync.AccountSyncUpdate{SyncError: "no id"}

	perRecord, err := e.c.WriteAccountSync(t.Context(), updates)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.sf.Calls().Collections; got != 3 {
		t.Errorf("collection calls = %d, want 3 for 450 records", got)
	}
	for i, err := range perRecord {
		switch i {
		case 7:
			wantCode(t, err, stripesync.ENOTFOUND)
			if ae := apiErrorOf(t, err); ae.Code != "ENTITY_IS_DELETED" {
				t.Errorf("deleted account: APIError = %+v", ae)
			}
		case 450:
			wantCode(t, err, stripesync.EINVALID)
		default:
			if err != nil {
				t.Errorf("record %d: %v", i, err)
			}
		}
	}
	got, _ := e.sf.Get("Account", ids[0])
	if got["Stripe_Customer_Id__c"] != "cus_"+ids[0][10:] || got["Stripe_Sync_Error__c"] != nil || !got["Stripe_Synced_At__c"].(time.Time).Equal(synced) {
		t.Errorf("account 0 after write-back: %v", got)
	}
	got, _ = e.sf.Get("Account", ids[3])
	if got["Stripe_Customer_Id__c"] != nil || got["Stripe_Sync_Error__c"] != strings.Repeat("é", 255) {
		t.Errorf("account 3: customer %v, error %d runes, want untouched id and a 255-rune error",
			got["Stripe_Customer_Id__c"], len([]rune(got["Stripe_Sync_Error__c"].(string))))
	}
}

func TestWriteAccountSyncWholeCallFailure(t *testing.T) {
	e := newEnv(t, crmtest.Options{}, nil)
	ids := seedAccounts(e.sf, 250)
	updates := make([]stripesync.AccountSyncUpdate, len(ids))
	for i, id := range ids {
		updates[i] = stripesync.AccountSyncUpdate{AccountID: id, StripeCustomerID: "cus_x"}
	}
	// The second call hits the daily limit.
	e.sf.InjectFault(crmtest.Fault{Kind: crmtest.FaultRequestLimit, After: 1, Path: "/composite/"})
	perRecord, err := e.c.WriteAccountSync(t.Context(), updates)
	wantCode(t, err, stripesync.ELIMIT)
	for i, rerr := range perRecord {
		if (i < 200) != (rerr == nil) {
			t.Fatalf("record %d: %v, want nil for the first call and the call's error after", i, rerr)
		}
	}
}

// BenchmarkAccounts streams 100,000 accounts (50 pages of 2000) from the
// emulator: the cost of a full account sync's CRM side.
func BenchmarkAccounts(b *testing.B) {
	sf := crmtest.NewServer(b, crmtest.Options{ClientID: testClientID, ClientSecret: testClientSecret})
	for i := range 100_000 {
		sf.Insert("Account", map[string]any{"Name": fmt.Sprintf("Account %d", i), "Billing_Email__c": "ap@example.com",
			"BillingCity": "Springfield", "CurrencyIsoCode": "USD"})
	}
	c, err := New(Config{LoginURL: sf.URL(), ClientID: testClientID, ClientSecret: testClientSecret})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		n := 0
		for _, err := range c.Accounts(b.Context(), time.Time{}) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 100_000 {
			b.Fatalf("read %d accounts", n)
		}
	}
}
