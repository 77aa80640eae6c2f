package stripetest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

const testKey = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"

// response is a decoded emulator answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
}

// errField returns a field of the error object, "" when absent.
func (r response) errField(name string) string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e[name].(string)
	return s
}

// send makes one request to s. Headers are name/value pairs; Authorization
// defaults to Bearer testKey. GET parameters go in the query, the rest in a
// form body, as stripe-go sends them.
func send(t *testing.T, s *Server, method, path string, params url.Values, headers ...string) response {
	t.Helper()
	var body io.Reader
	u := s.URL() + path
	if method == http.MethodGet && len(params) > 0 {
		u += "?" + params.Encode()
	} else if len(params) > 0 {
		body = strings.NewReader(params.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testKey)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := response{status: resp.StatusCode, header: resp.Header}
	if err := json.Unmarshal(raw, &out.body); err != nil {
		t.Fatalf("%s %s: body is not a JSON object: %v\n%s", method, path, err, raw)
	}
	return out
}

// mustOK fails the test unless r is a 200.
func mustOK(t *testing.T, r response) map[string]any {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, want 200; body %v", r.status, r.body)
	}
	return r.body
}

func ids(list map[string]any) []string {
	var out []string
	data, _ := list["data"].([]any)
	for _, d := range data {
		out = append(out, d.(map[string]any)["id"].(string))
	}
	return out
}

// eventTypes lists the types of the events recorded so far, oldest first.
func eventTypes(s *Server) []string {
	var out []string
	for _, e := range s.Events() {
		out = append(out, e.Type)
	}
	return out
}

// decoded is an event's payload as a JSON object.
func decoded(t *testing.T, e Event) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Payload, &m); err != nil {
		t.Fatalf("event %s payload: %v", e.ID, err)
	}
	return m
}

// object is data.object of an event payload.
func object(t *testing.T, e Event) map[string]any {
	t.Helper()
	data, _ := decoded(t, e)["data"].(map[string]any)
	obj, _ := data["object"].(map[string]any)
	return obj
}

// field walks nested JSON objects: field(m, "a", "b") is m["a"]["b"].
func field(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		obj, _ := v.(map[string]any)
		v = obj[p]
	}
	return v
}

// cardPayment is the form of a card PaymentIntent created and confirmed
// in one call.
func cardPayment(pm string, extra ...string) url.Values {
	v := url.Values{
		"amount":                 {"12500"},
		"currency":               {"usd"},
		"payment_method":         {pm},
		"payment_method_types[]": {"card"},
		"confirm":                {"true"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v
}

// achPayment is the form of an ACH PaymentIntent confirmed with an online
// mandate.
func achPayment(pm string, extra ...string) url.Values {
	v := url.Values{
		"amount":                 {"12500"},
		"currency":               {"usd"},
		"payment_method":         {pm},
		"payment_method_types[]": {"us_bank_account"},
		"confirm":                {"true"},
		"mandate_data[customer_acceptance][type]":               {"online"},
		"mandate_data[customer_acceptance][online][ip_address]": {"192.0.2.1"},
		"mandate_data[customer_acceptance][online][user_agent]": {"test"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v
}
