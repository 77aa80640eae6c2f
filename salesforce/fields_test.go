package salesforce_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm"
)

// customField is the part of a CustomField file these tests read.
type customField struct {
	FullName         string          `xml:"fullName"`
	Type             string          `xml:"type"`
	Required         bool            `xml:"required"`
	ExternalID       bool            `xml:"externalId"`
	Unique           bool            `xml:"unique"`
	CaseSensitive    bool            `xml:"caseSensitive"`
	Length           int             `xml:"length"`
	Precision        int             `xml:"precision"`
	Scale            int             `xml:"scale"`
	ReferenceTo      string          `xml:"referenceTo"`
	RelationshipName string          `xml:"relationshipName"`
	Restricted       bool            `xml:"valueSet>restricted"`
	Values           []picklistValue `xml:"valueSet>valueSetDefinition>value"`
}

type picklistValue struct {
	FullName string `xml:"fullName"`
	Default  bool   `xml:"default"`
	Label    string `xml:"label"`
}

// standardFields are the fields Salesforce provides on each object; the
// repository ships no file for them. CurrencyIsoCode exists once
// multi-currency is on (the mapping may leave it out otherwise).
var standardFields = map[string][]string{
	"Account":    {"Id", "Name", "Phone", "BillingStreet", "BillingCity", "BillingState", "BillingPostalCode", "BillingCountry", "CurrencyIsoCode", "SystemModstamp", "IsDeleted"},
	"Invoice__c": {"Id", "Name", "CurrencyIsoCode", "SystemModstamp", "IsDeleted"},
	"Payment__c": {"Id", "Name", "CurrencyIsoCode", "SystemModstamp", "IsDeleted"},
}

func fieldPath(object, field string) string {
	return filepath.Join(sourceDir, "objects", object, "fields", field+".field-meta.xml")
}

// fieldExists reports whether field is standard on object or shipped as a
// field file.
func fieldExists(object, field string) bool {
	if slices.Contains(standardFields[object], field) {
		return true
	}
	_, err := os.Stat(fieldPath(object, field))
	return err == nil
}

func loadField(t *testing.T, object, field string) customField {
	t.Helper()
	var f customField
	readXML(t, fieldPath(object, field), &f)
	return f
}

// TestMappedFieldsAreDeployed walks crm.DefaultMapping by reflection, so a
// field added to the mapping fails here until its metadata is shipped.
func TestMappedFieldsAreDeployed(t *testing.T) {
	m := crm.DefaultMapping()
	for _, section := range []any{m.Account, m.Invoice, m.Payment} {
		v := reflect.ValueOf(section)
		object := v.FieldByName("Object").String()
		if _, ok := standardFields[object]; !ok {
			t.Errorf("%T: object %q is not one this test knows", section, object)
			continue
		}
		if strings.HasSuffix(object, "__c") {
			if _, err := os.Stat(filepath.Join(sourceDir, "objects", object, object+".object-meta.xml")); err != nil {
				t.Errorf("custom object %s is not shipped: %v", object, err)
			}
		}
		for i := range v.NumField() {
			key, field := v.Type().Field(i).Name, v.Field(i).String()
			if key == "Object" || field == "" {
				continue
			}
			if !fieldExists(object, field) {
				t.Errorf("%s.%s (mapping %T.%s) is neither standard nor in %s", object, field, section, key, fieldPath(object, field))
			}
		}
	}
}

// TestFieldTypesFitTheDaemon checks each custom field against what the
// daemon sends and expects: exact decimals in Currency fields, instants in
// DateTime fields, ids that upserts key on, lookups to the right object.
func TestFieldTypesFitTheDaemon(t *testing.T) {
	m := crm.DefaultMapping()
	a, inv, p := m.Account, m.Invoice, m.Payment
	tests := []struct {
		object, field string
		typ           string
		ref           string // Lookup target
		key           bool   // external id, unique, case-sensitive: the daemon binds or upserts by it
	}{
		{a.Object, a.Email, "Email", "", false},
		{a.Object, a.Policy, "Picklist", "", false},
		{a.Object, a.StripeCustomerID, "Text", "", true},
		{a.Object, a.SyncError, "Text", "", false},
		{a.Object, a.SyncedAt, "DateTime", "", false},

		{inv.Object, inv.Account, "Lookup", a.Object, false},
		{inv.Object, inv.Amount, "Currency", "", false},
		{inv.Object, inv.DueDate, "Date", "", false},
		{inv.Object, inv.Status, "Picklist", "", false},
		{inv.Object, inv.AutoPay, "Checkbox", "", false},
		{inv.Object, inv.AmountPaid, "Currency", "", false},
		{inv.Object, inv.BalanceDue, "Currency", "", false},
		{inv.Object, inv.PaymentLink, "Url", "", false},

		{p.Object, p.StripePaymentID, "Text", "", true},
		{p.Object, p.Invoice, "Lookup", inv.Object, false},
		{p.Object, p.Account, "Lookup", a.Object, false},
		{p.Object, p.Amount, "Currency", "", false},
		{p.Object, p.Status, "Picklist", "", false},
		{p.Object, p.Method, "Picklist", "", false},
		{p.Object, p.MethodDetail, "Text", "", false},
		{p.Object, p.AmountRefunded, "Currency", "", false},
		{p.Object, p.PaidAt, "DateTime", "", false},
		{p.Object, p.ReceiptNumber, "Text", "", false},
		{p.Object, p.FailureReason, "Text", "", false},
		{p.Object, p.Channel, "Picklist", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.object+"."+tt.field, func(t *testing.T) {
			f := loadField(t, tt.object, tt.field)
			if f.Type != tt.typ {
				t.Errorf("type = %s, want %s", f.Type, tt.typ)
			}
			if f.Required {
				// The daemon writes partial records (an unmatched payment
				// has no invoice), and a required field cannot be granted
				// in a permission set.
				t.Error("required = true, want false")
			}
			switch f.Type {
			case "Text":
				// Stripe ids, decline messages and the sync error (cut to
				// 255 by the daemon) all fit in 255 characters.
				if f.Length != 255 {
					t.Errorf("length = %d, want 255", f.Length)
				}
			case "Currency":
				// Two decimals hold every amount Stripe can charge: its
				// three-decimal currencies must end in 0.
				if f.Precision != 16 || f.Scale != 2 {
					t.Errorf("Currency(%d,%d), want Currency(16,2)", f.Precision, f.Scale)
				}
			case "Lookup":
				if f.ReferenceTo != tt.ref {
					t.Errorf("referenceTo = %q, want %q", f.ReferenceTo, tt.ref)
				}
			}
			if key := f.ExternalID && f.Unique && f.CaseSensitive; key != tt.key {
				t.Errorf("external id %t, unique %t, case-sensitive %t; want all %t", f.ExternalID, f.Unique, f.CaseSensitive, tt.key)
			}
		})
	}
}

// TestPicklistsMatchTheDomain checks every picklist against the values the
// domain writes or parses. The picklists are restricted, so a value missing
// here would make the daemon's write fail, and a value the domain cannot
// parse would make its read fail.
func TestPicklistsMatchTheDomain(t *testing.T) {
	m := crm.DefaultMapping()
	succeeded := stripesync.Payment{Status: stripesync.PaymentSucceeded, Amount: stripesync.Money{Amount: 1000, Currency: "USD"}}
	refunded, partly := succeeded, succeeded
	refunded.Refunded, partly.Refunded = 1000, 400
	tests := []struct {
		object, field string
		want          []string
		dflt          string                       // the default value, "" for none
		parse         func(string) (string, error) // the domain's parser, nil when the daemon only writes
	}{
		{
			m.Account.Object, m.Account.Policy,
			[]string{string(stripesync.PolicyCreate), string(stripesync.PolicyExisting), string(stripesync.PolicyIgnore)},
			string(stripesync.PolicyCreate),
			func(s string) (string, error) { p, err := stripesync.ParsePolicy(s); return string(p), err },
		},
		{
			m.Invoice.Object, m.Invoice.Status,
			[]string{
				string(stripesync.InvoiceDraft), string(stripesync.InvoiceOpen), string(stripesync.InvoicePartiallyPaid),
				string(stripesync.InvoicePaid), string(stripesync.InvoiceVoid),
			},
			string(stripesync.InvoiceOpen),
			func(s string) (string, error) { st, err := stripesync.ParseInvoiceStatus(s); return string(st), err },
		},
		{
			m.Payment.Object, m.Payment.Status,
			[]string{
				string(stripesync.PaymentPending), string(stripesync.PaymentAwaitingVerification), string(stripesync.PaymentProcessing),
				string(stripesync.PaymentSucceeded),
				string(stripesync.PaymentFailed), refunded.CRMStatus(), partly.CRMStatus(), string(stripesync.PaymentCanceled),
			},
			"", nil,
		},
		{m.Payment.Object, m.Payment.Method, []string{stripesync.MethodCard, stripesync.MethodACH}, "", nil},
		{
			m.Payment.Object, m.Payment.Channel,
			[]string{stripesync.ChannelPaymentLink, stripesync.ChannelPhone, stripesync.ChannelAutoPay, stripesync.ChannelStripe},
			"", nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.object+"."+tt.field, func(t *testing.T) {
			f := loadField(t, tt.object, tt.field)
			if !f.Restricted {
				t.Error("picklist is not restricted")
			}
			var got []string
			var dflt string
			for _, v := range f.Values {
				got = append(got, v.FullName)
				if v.Default {
					dflt = v.FullName
				}
				if v.Label != v.FullName {
					// Staff see the label, the daemon writes the API name:
					// one word for both avoids confusing reports.
					t.Errorf("value %q has label %q", v.FullName, v.Label)
				}
				if tt.parse != nil {
					if parsed, err := tt.parse(v.FullName); err != nil || parsed != v.FullName {
						t.Errorf("the domain parses %q as %q, %v", v.FullName, parsed, err)
					}
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
			if dflt != tt.dflt {
				t.Errorf("default = %q, want %q", dflt, tt.dflt)
			}
		})
	}
}

// permissionSet is the part of a PermissionSet file these tests read.
type permissionSet struct {
	Fields []struct {
		Field    string `xml:"field"`
		Readable bool   `xml:"readable"`
		Editable bool   `xml:"editable"`
	} `xml:"fieldPermissions"`
	Objects []objectPermission `xml:"objectPermissions"`
}

type objectPermission struct {
	Object    string `xml:"object"`
	Create    bool   `xml:"allowCreate"`
	Read      bool   `xml:"allowRead"`
	Edit      bool   `xml:"allowEdit"`
	Delete    bool   `xml:"allowDelete"`
	ViewAll   bool   `xml:"viewAllRecords"`
	ModifyAll bool   `xml:"modifyAllRecords"`
}

// access is a field's permission: "read" or "edit".
func (ps permissionSet) access() map[string]string {
	out := map[string]string{}
	for _, f := range ps.Fields {
		switch {
		case f.Readable && f.Editable:
			out[f.Field] = "edit"
		case f.Readable:
			out[f.Field] = "read"
		}
	}
	return out
}

func (ps permissionSet) object(name string) objectPermission {
	for _, o := range ps.Objects {
		if o.Object == name {
			return o
		}
	}
	return objectPermission{Object: name}
}

// shippedFields lists Object.Field for every field file of the objects the
// daemon works with.
func shippedFields(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, object := range []string{"Account", "Invoice__c", "Payment__c"} {
		files, err := filepath.Glob(fieldPath(object, "*"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no field files for %s: %v", object, err)
		}
		for _, f := range files {
			out = append(out, object+"."+strings.TrimSuffix(filepath.Base(f), ".field-meta.xml"))
		}
	}
	return out
}

// TestIntegrationPermissionSet checks that the daemon's user can read and
// write every shipped field: deployed fields are visible to no one until a
// permission set grants them, and the daemon's queries name them all.
func TestIntegrationPermissionSet(t *testing.T) {
	var ps permissionSet
	readXML(t, filepath.Join(sourceDir, "permissionsets", "Stripesync_Integration.permissionset-meta.xml"), &ps)
	access := ps.access()
	for _, f := range shippedFields(t) {
		if access[f] != "edit" {
			t.Errorf("%s: access %q, want edit", f, access[f])
		}
	}
	want := []objectPermission{
		{Object: "Account", Read: true, Edit: true, ViewAll: true},
		{Object: "Invoice__c", Read: true, Edit: true, ViewAll: true},
		{Object: "Payment__c", Create: true, Read: true, Edit: true, ViewAll: true},
	}
	for _, w := range want {
		if diff := cmp.Diff(w, ps.object(w.Object)); diff != "" {
			t.Errorf("object permission (-want +got):\n%s", diff)
		}
	}
}

// TestStaffPermissionSet checks that people can see every field but edit
// only what the daemon reads: what it writes back would be overwritten.
func TestStaffPermissionSet(t *testing.T) {
	var ps permissionSet
	readXML(t, filepath.Join(sourceDir, "permissionsets", "Stripesync_Staff.permissionset-meta.xml"), &ps)
	m := crm.DefaultMapping()
	a, inv := m.Account, m.Invoice
	editable := []string{
		a.Object + "." + a.Email, a.Object + "." + a.Policy, a.Object + "." + a.StripeCustomerID,
		inv.Object + "." + inv.Account, inv.Object + "." + inv.Amount, inv.Object + "." + inv.DueDate,
		inv.Object + "." + inv.Status, inv.Object + "." + inv.AutoPay,
	}
	access := ps.access()
	for _, f := range shippedFields(t) {
		want := "read"
		if slices.Contains(editable, f) {
			want = "edit"
		}
		if access[f] != want {
			t.Errorf("%s: access %q, want %q", f, access[f], want)
		}
	}
	if o := ps.object(m.Payment.Object); o.Create || o.Edit || o.Delete || !o.Read {
		t.Errorf("staff may change payments: %+v; only the daemon writes them", o)
	}
}
