package crmtest

import (
	"fmt"
	"strings"
)

// FieldType is the data type of an emulated field. It decides which values a
// write accepts, how SOQL compares them and how JSON renders them, so that a
// client mistake (a quoted dateTime literal, a number sent as a date) fails
// here as it would in Salesforce.
type FieldType int

// The field types the emulator knows.
const (
	FieldText     FieldType = iota // text, picklist, email, phone, URL; "" is stored as null
	FieldID                        // record id or lookup; compared case-sensitively
	FieldDecimal                   // number or currency, kept as an exact decimal string
	FieldBool                      // checkbox; never null
	FieldDate                      // yyyy-MM-dd
	FieldDateTime                  // an instant, millisecond precision
)

func (t FieldType) String() string {
	switch t {
	case FieldText:
		return "string"
	case FieldID:
		return "id"
	case FieldDecimal:
		return "double"
	case FieldBool:
		return "boolean"
	case FieldDate:
		return "date"
	case FieldDateTime:
		return "dateTime"
	}
	return fmt.Sprintf("FieldType(%d)", int(t))
}

// field is one column of an emulated sObject.
type field struct {
	name     string
	typ      FieldType
	system   bool // maintained by the platform; API writes are refused
	external bool // an External ID field: indexed and usable for upserts
	// ref names the sObject a lookup (FieldID) points to; API writes must
	// name a live record of it. "" for Id and unchecked id fields.
	ref string
}

// schema describes one sObject: its API name, key prefix and fields.
type schema struct {
	name   string
	prefix string
	fields []field
	byName map[string]int // lower-case field name → index in fields
	// required lists fields a create must set (Account.Name).
	required []int
}

// Indexes of the standard fields; every schema starts with them in this order.
const (
	idxID = iota
	idxIsDeleted
	idxName
	idxCreatedDate
	idxLastModifiedDate
	idxSystemModstamp
	idxCurrencyIsoCode
)

func standardFields() []field {
	return []field{
		{name: "Id", typ: FieldID, system: true},
		{name: "IsDeleted", typ: FieldBool, system: true},
		{name: "Name", typ: FieldText},
		{name: "CreatedDate", typ: FieldDateTime, system: true},
		{name: "LastModifiedDate", typ: FieldDateTime, system: true},
		{name: "SystemModstamp", typ: FieldDateTime, system: true},
		{name: "CurrencyIsoCode", typ: FieldText},
	}
}

// builtinObjects are the sObjects of docs/SPEC.md §6 with their default field names.
func builtinObjects() []*schema {
	text := func(names ...string) []field {
		fs := make([]field, len(names))
		for i, n := range names {
			fs[i] = field{name: n, typ: FieldText}
		}
		return fs
	}
	account := append(text("Phone", "Billing_Email__c", "BillingStreet", "BillingCity", "BillingState",
		"BillingPostalCode", "BillingCountry", "Stripe_Sync_Error__c", "Stripe_Mapping__c"),
		field{name: "Stripe_Customer_Id__c", typ: FieldText, external: true},
		field{name: "Stripe_Synced_At__c", typ: FieldDateTime},
	)
	invoice := append(text("Status__c", "Payment_Link__c"),
		field{name: "Account__c", typ: FieldID, ref: "Account"},
		field{name: "Amount__c", typ: FieldDecimal},
		field{name: "Due_Date__c", typ: FieldDate},
		field{name: "Auto_Pay__c", typ: FieldBool},
		field{name: "Amount_Paid__c", typ: FieldDecimal},
		field{name: "Balance_Due__c", typ: FieldDecimal},
	)
	payment := append(text("Status__c", "Method__c", "Payment_Method_Detail__c", "Receipt_Number__c",
		"Failure_Reason__c", "Channel__c"),
		field{name: "Stripe_Payment_Id__c", typ: FieldText, external: true},
		field{name: "Invoice__c", typ: FieldID, ref: "Invoice__c"},
		field{name: "Account__c", typ: FieldID, ref: "Account"},
		field{name: "Amount__c", typ: FieldDecimal},
		field{name: "Amount_Refunded__c", typ: FieldDecimal},
		field{name: "Paid_At__c", typ: FieldDateTime},
	)
	acc := newSchema("Account", "001", account)
	acc.required = []int{idxName}
	return []*schema{
		acc,
		newSchema("Invoice__c", "a0X", invoice),
		newSchema("Payment__c", "a0Y", payment),
	}
}

func newSchema(name, prefix string, own []field) *schema {
	s := &schema{name: name, prefix: prefix, byName: map[string]int{}}
	for _, f := range append(standardFields(), own...) {
		s.add(f)
	}
	return s
}

func (s *schema) add(f field) {
	if _, dup := s.byName[strings.ToLower(f.name)]; dup {
		return
	}
	s.byName[strings.ToLower(f.name)] = len(s.fields)
	s.fields = append(s.fields, f)
}

// lookup resolves a field name case-insensitively, as Salesforce does.
func (s *schema) lookup(name string) (int, bool) {
	i, ok := s.byName[strings.ToLower(name)]
	return i, ok
}

func noSuchColumn(obj, name string) *apiError {
	return &apiError{status: 400, code: "INVALID_FIELD", message: fmt.Sprintf(
		"No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
		name, obj), fields: []string{name}}
}

// missingRequired reports the required fields a new row would leave null.
func (s *schema) missingRequired(vals map[int]any) *apiError {
	var missing []string
	for _, i := range s.required {
		if vals[i] == nil {
			missing = append(missing, s.fields[i].name)
		}
	}
	if missing == nil {
		return nil
	}
	return &apiError{status: 400, code: "REQUIRED_FIELD_MISSING", fields: missing,
		message: fmt.Sprintf("Required fields are missing: [%s]", strings.Join(missing, ", "))}
}
