package crm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm/crmtest"
)

func TestConfigValidate(t *testing.T) {
	key := generateKey(t)
	tests := []struct {
		name string
		cfg  Config
		want []string // substrings of the error; nil = valid
	}{
		{"client credentials", Config{ClientID: "id", ClientSecret: "s"}, nil},
		{"jwt", Config{ClientID: "id", Username: "u", PrivateKey: key, LoginURL: "https://test.salesforce.com"}, nil},
		{"emulator", Config{ClientID: "id", ClientSecret: "s", LoginURL: "http://127.0.0.1:8080", APIVersion: "v58.0", PageSize: 500}, nil},
		{"nothing", Config{}, []string{"missing ClientID", "missing ClientSecret"}},
		{"jwt without key", Config{ClientID: "id", Username: "u"}, []string{"missing PrivateKey"}},
		{"key without user", Config{ClientID: "id", PrivateKey: key}, []string{"missing Username"}},
		{"everything wrong", Config{
			LoginURL: "http://login.example.com", ClientID: "id", ClientSecret: "s", APIVersion: "62",
			PageSize: 50, RetryBaseDelay: -time.Second, Mapping: Mapping{Account: AccountMapping{Object: "Account; DROP"}},
		}, []string{"must use https", `APIVersion "62"`, "PageSize 50", "RetryBaseDelay", "account.object", "account.name is required"}},
		{"relative url", Config{LoginURL: "login.salesforce.com", ClientID: "id", ClientSecret: "s"}, []string{"not an absolute http(s) URL"}},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		if tt.want == nil {
			if err != nil {
				t.Errorf("%s: Validate() = %v, want nil", tt.name, err)
			}
			continue
		}
		if stripesync.CodeOf(err) != stripesync.EINVALID {
			t.Errorf("%s: Validate() = %v, want EINVALID", tt.name, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: Validate() = %v, want it to mention %q", tt.name, err, w)
			}
		}
		if strings.Contains(err.Error(), "s\"") {
			t.Errorf("%s: error echoes a secret: %v", tt.name, err)
		}
	}
	if _, err := New(Config{}); stripesync.CodeOf(err) != stripesync.EINVALID {
		t.Errorf("New(Config{}) error = %v, want EINVALID", err)
	}
}

func TestDefaultMappingIsSpec(t *testing.T) {
	if err := DefaultMapping().Validate(); err != nil {
		t.Fatal(err)
	}
	m := DefaultMapping()
	got := []string{m.Account.Object, m.Account.Email, m.Account.StripeCustomerID, m.Account.SyncError, m.Account.SyncedAt, m.Account.Policy,
		m.Invoice.Object, m.Invoice.BalanceDue, m.Payment.Object, m.Payment.StripePaymentID, m.Payment.Channel}
	want := []string{"Account", "Billing_Email__c", "Stripe_Customer_Id__c", "Stripe_Sync_Error__c", "Stripe_Synced_At__c", "Stripe_Mapping__c",
		"Invoice__c", "Balance_Due__c", "Payment__c", "Stripe_Payment_Id__c", "Channel__c"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DefaultMapping (-want +got):\n%s", diff)
	}
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mapping.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadMapping(t *testing.T) {
	m, err := LoadMapping(writeFile(t, `{"account": {"email": "Invoice_Email__c", "currency": "", "sync_error": "Sync_Problem__c"},
		"payment": {"channel": "Source__c"}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultMapping()
	want.Account.Email, want.Account.Currency, want.Account.SyncError = "Invoice_Email__c", "", "Sync_Problem__c"
	want.Payment.Channel = "Source__c"
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("LoadMapping (-want +got):\n%s", diff)
	}

	for _, tt := range []struct{ content, want string }{
		{`{"account": {"emial": "X__c"}}`, "unknown field"},
		{`{"account": {"object": ""}}`, "account.object is required"},
		{`{"account": {"email": "Email__c, (SELECT Id FROM User)"}}`, "not a Salesforce API name"},
		{`not json`, "parse salesforce mapping file"},
	} {
		_, err := LoadMapping(writeFile(t, tt.content))
		if stripesync.CodeOf(err) != stripesync.EINVALID || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("LoadMapping(%s) error = %v, want EINVALID mentioning %q", tt.content, err, tt.want)
		}
	}
	if _, err := LoadMapping(filepath.Join(t.TempDir(), "missing.json")); stripesync.CodeOf(err) != stripesync.EINVALID {
		t.Errorf("LoadMapping(missing) error = %v, want EINVALID", err)
	}
}

// TestMappingOverrideEndToEnd runs the account read and write-back against
// an org whose admin renamed fields, as a mapping file describes it.
func TestMappingOverrideEndToEnd(t *testing.T) {
	m, err := LoadMapping(writeFile(t, `{"account": {"email": "Invoice_Email__c", "currency": "", "sync_error": "Sync_Problem__c"}}`))
	if err != nil {
		t.Fatal(err)
	}
	opts := crmtest.Options{ExtraFields: map[string]map[string]crmtest.FieldType{
		"Account": {"Invoice_Email__c": crmtest.FieldText, "Sync_Problem__c": crmtest.FieldText},
	}}
	e := newEnv(t, opts, func(c *Config) { c.Mapping = m })
	id := e.sf.Insert("Account", map[string]any{"Name": "Acme", "Invoice_Email__c": "billing@acme.example",
		"Billing_Email__c": "old@acme.example", "CurrencyIsoCode": "EUR"})
	var got []stripesync.Account
	for a, err := range e.c.Accounts(t.Context(), time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, a)
	}
	if len(got) != 1 || got[0].Email != "billing@acme.example" || got[0].Currency != "" {
		t.Errorf("Accounts = %+v, want the mapped email and no currency", got)
	}
	if _, err := e.c.WriteAccountSync(t.Context(), []stripesync.AccountSyncUpdate{{AccountID: id, SyncError: "declined"}}); err != nil {
		t.Fatal(err)
	}
	if rec, _ := e.sf.Get("Account", id); rec["Sync_Problem__c"] != "declined" || rec["Stripe_Sync_Error__c"] != nil {
		t.Errorf("write-back went to the wrong field: %v", rec)
	}
}
