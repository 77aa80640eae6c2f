package stripetest

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCustomerObjectShape(t *testing.T) {
	now := time.Date(2024, 4, 9, 12, 0, 0, 0, time.UTC)
	s := NewServer(t, Options{Clock: func() time.Time { return now }})
	got := mustOK(t, send(t, s, http.MethodPost, "/v1/customers", url.Values{
		"name":                     {"Acme"},
		"email":                    {"billing@acme.example"},
		"address[line1]":           {"1 Main St"},
		"address[country]":         {"US"},
		"metadata[crm_account_id]": {"001A"},
		"preferred_locales[]":      {"en", "fr"},
	}))
	id, _ := got["id"].(string)
	if !strings.HasPrefix(id, "cus_") || len(id) != len("cus_")+14 {
		t.Errorf("id = %q, want cus_ and 14 characters", id)
	}
	prefix, _ := got["invoice_prefix"].(string)
	delete(got, "id")
	delete(got, "invoice_prefix")
	want := map[string]any{
		"object": "customer",
		"address": map[string]any{
			"city": nil, "country": "US", "line1": "1 Main St", "line2": nil, "postal_code": nil, "state": nil,
		},
		"balance":        float64(0),
		"created":        float64(now.Unix()),
		"currency":       nil,
		"default_source": nil,
		"delinquent":     false,
		"description":    nil,
		"discount":       nil,
		"email":          "billing@acme.example",
		"invoice_settings": map[string]any{
			"custom_fields": nil, "default_payment_method": nil, "footer": nil, "rendering_options": nil,
		},
		"livemode":              false,
		"metadata":              map[string]any{"crm_account_id": "001A"},
		"name":                  "Acme",
		"next_invoice_sequence": float64(1),
		"phone":                 nil,
		"preferred_locales":     []any{"en", "fr"},
		"shipping":              nil,
		"tax_exempt":            "none",
		"test_clock":            nil,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("customer (-want +got):\n%s", diff)
	}
	if !invoicePrefixRE.MatchString(prefix) {
		t.Errorf("invoice_prefix = %q, want 3-12 upper-case alphanumerics", prefix)
	}
}

func TestCustomerUpdate(t *testing.T) {
	s := NewServer(t, Options{})
	id := s.CreateCustomer(Customer{
		Name:     "Old",
		Phone:    "+1 555 0100",
		Address:  Address{Line1: "1 Main", Line2: "Suite 9", City: "Springfield"},
		Metadata: map[string]string{"crm_account_id": "001A", "keep": "yes", "drop": "me"},
	})
	got := mustOK(t, send(t, s, http.MethodPost, "/v1/customers/"+id, url.Values{
		"name":                     {"New"},
		"phone":                    {""},
		"address[city]":            {"Shelbyville"},
		"metadata[drop]":           {""},
		"metadata[crm_account_id]": {"001B"},
	}))
	if got["name"] != "New" || got["phone"] != nil {
		t.Errorf("name, phone = %v, %v; want New, null (an empty value clears)", got["name"], got["phone"])
	}
	wantMeta := map[string]any{"crm_account_id": "001B", "keep": "yes"}
	if diff := cmp.Diff(wantMeta, got["metadata"]); diff != "" {
		t.Errorf("metadata merges per key (-want +got):\n%s", diff)
	}
	wantAddr := Address{City: "Shelbyville"}
	if diff := cmp.Diff(wantAddr, s.Customers()[0].Address); diff != "" {
		t.Errorf("address is replaced as a whole (-want +got):\n%s", diff)
	}

	got = mustOK(t, send(t, s, http.MethodPost, "/v1/customers/"+id, url.Values{"metadata": {""}}))
	if diff := cmp.Diff(map[string]any{}, got["metadata"]); diff != "" {
		t.Errorf("metadata= clears all (-want +got):\n%s", diff)
	}

	r := send(t, s, http.MethodPost, "/v1/customers/cus_missing", url.Values{"name": {"X"}})
	if r.status != 404 || r.errField("code") != "resource_missing" || r.errField("message") != "No such customer: 'cus_missing'" {
		t.Errorf("update of a missing customer: %d %v", r.status, r.body)
	}
}

func TestCustomerDelete(t *testing.T) {
	s := NewServer(t, Options{})
	id := s.CreateCustomer(Customer{Name: "Doomed"})
	got := mustOK(t, send(t, s, http.MethodDelete, "/v1/customers/"+id, nil))
	want := map[string]any{"id": id, "object": "customer", "deleted": true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DELETE (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, mustOK(t, send(t, s, http.MethodGet, "/v1/customers/"+id, nil))); diff != "" {
		t.Errorf("retrieve of a deleted customer is 200 deleted:true (-want +got):\n%s", diff)
	}
	for _, r := range []response{
		send(t, s, http.MethodPost, "/v1/customers/"+id, url.Values{"name": {"X"}}),
		send(t, s, http.MethodDelete, "/v1/customers/"+id, nil),
	} {
		if r.status != 404 || r.errField("message") != fmt.Sprintf("No such customer: '%s'", id) {
			t.Errorf("write to a deleted customer: %d %v, want 404 resource_missing", r.status, r.body)
		}
	}
	if r := send(t, s, http.MethodGet, "/v1/customers/cus_nope", nil); r.status != 404 || r.errField("param") != "id" {
		t.Errorf("retrieve of a missing customer: %d %v", r.status, r.body)
	}
	if c := s.Customers(); len(c) != 1 || !c[0].Deleted || c[0].Name != "Doomed" {
		t.Errorf("Customers() = %+v, want the deleted customer kept for assertions", c)
	}
}

func TestCustomerValidation(t *testing.T) {
	s := NewServer(t, Options{})
	tests := []struct {
		params    url.Values
		wantParam string
	}{
		{url.Values{"email": {"nobody"}}, "email"},
		{url.Values{"invoice_prefix": {"ab"}}, "invoice_prefix"},
		{url.Values{"tax_exempt": {"maybe"}}, "tax_exempt"},
		{url.Values{"metadata[" + strings.Repeat("k", 41) + "]": {"v"}}, "metadata[" + strings.Repeat("k", 41) + "]"},
		{url.Values{"metadata[k]": {strings.Repeat("v", 501)}}, "metadata[k]"},
		{url.Values{"next_invoice_sequence": {"0"}}, "next_invoice_sequence"},
		{url.Values{"balance": {"1.5"}}, "balance"},
		{url.Values{"coupon": {"X"}}, "coupon"},
	}
	for _, tt := range tests {
		r := send(t, s, http.MethodPost, "/v1/customers", tt.params)
		if r.status != 400 || r.errField("param") != tt.wantParam {
			t.Errorf("POST %v: %d %v, want 400 on %s", tt.params, r.status, r.body, tt.wantParam)
		}
	}
	if n := len(s.Customers()); n != 0 {
		t.Errorf("%d customers created by invalid requests", n)
	}
}

func TestCustomerList(t *testing.T) {
	s := NewServer(t, Options{})
	var created []string // oldest first
	for i := range 7 {
		created = append(created, s.CreateCustomer(Customer{
			Email: fmt.Sprintf("c%d@example.com", i%2),
		}))
	}
	s.DeleteCustomer(created[6])
	live := slices.Clone(created[:6])
	slices.Reverse(live) // newest first: c5 … c0

	first := mustOK(t, send(t, s, http.MethodGet, "/v1/customers", url.Values{"limit": {"4"}}))
	if diff := cmp.Diff(live[:4], ids(first)); diff != "" {
		t.Errorf("first page (-want +got):\n%s", diff)
	}
	if first["has_more"] != true || first["object"] != "list" || first["url"] != "/v1/customers" {
		t.Errorf("envelope = has_more %v object %v url %v", first["has_more"], first["object"], first["url"])
	}
	next := mustOK(t, send(t, s, http.MethodGet, "/v1/customers", url.Values{"limit": {"4"}, "starting_after": {live[3]}}))
	if diff := cmp.Diff(live[4:], ids(next)); diff != "" || next["has_more"] != false {
		t.Errorf("starting_after page has_more=%v (-want +got):\n%s", next["has_more"], diff)
	}
	back := mustOK(t, send(t, s, http.MethodGet, "/v1/customers", url.Values{"limit": {"2"}, "ending_before": {live[4]}}))
	if diff := cmp.Diff(live[2:4], ids(back)); diff != "" || back["has_more"] != true {
		t.Errorf("ending_before page has_more=%v (-want +got):\n%s", back["has_more"], diff)
	}
	all := mustOK(t, send(t, s, http.MethodGet, "/v1/customers", nil))
	if n := len(ids(all)); n != 6 {
		t.Errorf("default page has %d customers, want all 6 live ones (limit 10)", n)
	}

	byEmail := mustOK(t, send(t, s, http.MethodGet, "/v1/customers", url.Values{"email": {"c1@example.com"}}))
	if diff := cmp.Diff([]string{live[0], live[2], live[4]}, ids(byEmail)); diff != "" {
		t.Errorf("email filter (-want +got):\n%s", diff)
	}
	upper := mustOK(t, send(t, s, http.MethodGet, "/v1/customers", url.Values{"email": {"C1@example.com"}}))
	if n := len(ids(upper)); n != 0 {
		t.Errorf("email filter is case-sensitive, got %d matches for upper case", n)
	}

	for _, bad := range []url.Values{
		{"limit": {"0"}},
		{"limit": {"101"}},
		{"starting_after": {live[0]}, "ending_before": {live[1]}},
		{"starting_after": {"cus_unknown"}},
	} {
		if r := send(t, s, http.MethodGet, "/v1/customers", bad); r.status != 400 {
			t.Errorf("GET /v1/customers?%s: %d, want 400", bad.Encode(), r.status)
		}
	}
}

func TestCustomerSearch(t *testing.T) {
	s := NewServer(t, Options{})
	a := s.CreateCustomer(Customer{Name: "Acme", Email: "ap@acme.example", Metadata: map[string]string{"crm_account_id": "001A"}})
	b := s.CreateCustomer(Customer{Name: "Acme", Email: "other@acme.example", Metadata: map[string]string{"crm_account_id": "001B"}})
	gone := s.CreateCustomer(Customer{Name: "Acme", Metadata: map[string]string{"crm_account_id": "001A"}})
	s.DeleteCustomer(gone)
	quoted := s.CreateCustomer(Customer{Metadata: map[string]string{"crm_account_id": `it's "x"`}})

	tests := []struct {
		query string
		want  []string
	}{
		{`metadata['crm_account_id']:'001A'`, []string{a}},
		{`metadata["crm_account_id"]:"001a"`, []string{a}},
		{`name:'Acme'`, []string{b, a}},
		{`name:'acme' AND email:'other@acme.example'`, []string{b}},
		{`name:'Acme' AND metadata['crm_account_id']:'001C'`, nil},
		{`metadata['crm_account_id']:'it\'s "x"'`, []string{quoted}},
	}
	for _, tt := range tests {
		got := mustOK(t, send(t, s, http.MethodGet, "/v1/customers/search", url.Values{"query": {tt.query}}))
		if diff := cmp.Diff(tt.want, ids(got)); diff != "" {
			t.Errorf("search %s (-want +got):\n%s", tt.query, diff)
		}
		if got["object"] != "search_result" || got["url"] != "/v1/customers/search" {
			t.Errorf("envelope = %v %v", got["object"], got["url"])
		}
	}

	page1 := mustOK(t, send(t, s, http.MethodGet, "/v1/customers/search", url.Values{"query": {"name:'Acme'"}, "limit": {"1"}}))
	tok, _ := page1["next_page"].(string)
	if diff := cmp.Diff([]string{b}, ids(page1)); diff != "" || page1["has_more"] != true || tok == "" {
		t.Fatalf("page 1: has_more=%v next_page=%q (-want +got):\n%s", page1["has_more"], tok, diff)
	}
	page2 := mustOK(t, send(t, s, http.MethodGet, "/v1/customers/search", url.Values{"query": {"name:'Acme'"}, "limit": {"1"}, "page": {tok}}))
	if diff := cmp.Diff([]string{a}, ids(page2)); diff != "" || page2["has_more"] != false || page2["next_page"] != nil {
		t.Errorf("page 2: has_more=%v next_page=%v (-want +got):\n%s", page2["has_more"], page2["next_page"], diff)
	}

	for _, bad := range []string{"", "name:Acme", "name:'Acme' OR email:'x'", "nme:'x'", "name:'x' AND", "name:'unterminated"} {
		r := send(t, s, http.MethodGet, "/v1/customers/search", url.Values{"query": {bad}})
		if r.status != 400 || r.errField("param") != "query" {
			t.Errorf("query %q: %d %v, want 400 on query", bad, r.status, r.body)
		}
	}
}

func TestCustomersWithMetadata(t *testing.T) {
	s := NewServer(t, Options{})
	a := s.CreateCustomer(Customer{Metadata: map[string]string{"crm_account_id": "001A"}})
	s.CreateCustomer(Customer{Metadata: map[string]string{"crm_account_id": "001B"}})
	d := s.CreateCustomer(Customer{Metadata: map[string]string{"crm_account_id": "001A"}})
	s.DeleteCustomer(d)
	got := s.CustomersWithMetadata("crm_account_id", "001A")
	if len(got) != 2 || got[0].ID != a || got[1].ID != d || !got[1].Deleted {
		t.Errorf("CustomersWithMetadata = %+v, want %s then deleted %s", got, a, d)
	}
}
