package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stripesync/stripesync/staff"
)

// staffWorld is a pay world with the staff API on: two staff members and
// an invoice whose customer has a saved Visa.
type staffWorld struct {
	*payWorld
	tokens  map[string]string // staff name → bearer token
	file    string            // the staff token file
	invoice string
	card    string // the customer's saved card
}

func newStaffWorld(t testing.TB, postgres bool, number, amount string) *staffWorld {
	t.Helper()
	file := filepath.Join(t.TempDir(), "staff")
	tokens := map[string]string{}
	for _, name := range []string{"alice", "bob"} {
		token, err := staff.Add(file, name)
		if err != nil {
			t.Fatal(err)
		}
		tokens[name] = token
	}
	w := &staffWorld{payWorld: newPayWorld(t, postgres, "STRIPESYNC_STAFF_TOKENS_FILE="+file), tokens: tokens, file: file}
	w.invoice = w.payWorld.invoice(t, number, amount, "USD")
	w.run(t, "sync", "accounts") // pulls the invoice into the ledger
	w.card = w.saveCard(t, w.customerOf(t, w.account), "pm_card_visa")
	return w
}

// saveCard attaches one of Stripe's test methods to the customer, as a
// card saved on an earlier payment, and returns the new method's id.
func (w *staffWorld) saveCard(t testing.TB, customer, test string) string {
	t.Helper()
	return w.postStripe(t, emuStripeKey, "/v1/payment_methods/"+test+"/attach", url.Values{"customer": {customer}})
}

// postStripe posts form to the Stripe emulator with key and returns the id
// of the object it answers with.
func (w *staffWorld) postStripe(t testing.TB, key, path string, form url.Values) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "POST", w.emu.st.URL()+path, strings.NewReader(form.Encode()))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var obj struct {
		ID string `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&obj); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %v", path, resp.StatusCode, err)
	}
	return obj.ID
}

// apiAnswer is a staff API response.
type apiAnswer struct {
	status   int
	body     string
	replayed bool
}

// pay posts a staff payment to base as staff member name ("" sends no
// token) under key.
func (w *staffWorld) pay(t testing.TB, base, name, key, amount, method string) apiAnswer {
	t.Helper()
	body := fmt.Sprintf(`{"amount":%q,"payment_method":%q}`, amount, method)
	return w.postJSON(t, base, name, key, "/v1/invoices/"+w.invoice+"/payments", body)
}

// postJSON posts body to the staff API at base as staff member name (""
// sends no token; a name with no token sends the name as one) under key
// ("" sends no Idempotency-Key).
func (w *staffWorld) postJSON(t testing.TB, base, name, key, path, body string) apiAnswer {
	t.Helper()
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if name != "" {
		token := w.tokens[name]
		if token == "" {
			token = name // a token nobody holds
		}
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return apiAnswer{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apiAnswer{status: resp.StatusCode, body: string(b), replayed: resp.Header.Get("Idempotent-Replayed") == "true"}
}

// payConcurrently sends n payments of amount at once, alternating between
// bases and staff members, each under its own key, and counts the answers
// by status.
func (w *staffWorld) payConcurrently(t testing.TB, bases []string, n int, amount string) map[int][]string {
	t.Helper()
	var (
		mu     sync.Mutex
		wg     sync.WaitGroup
		byCode = map[int][]string{}
	)
	names := []string{"alice", "bob"}
	for i := range n {
		wg.Go(func() {
			a := w.pay(t, bases[i%len(bases)], names[i%2], fmt.Sprintf("phone-%d", i), amount, w.card)
			mu.Lock()
			byCode[a.status] = append(byCode[a.status], a.body)
			mu.Unlock()
		})
	}
	wg.Wait()
	return byCode
}

// TestStaffPaymentsNeverOverpay is 50 staff payments of 5.00 sent at once
// on a 100.00 invoice: exactly 20 are charged, the other 30 are refused
// before Stripe is called with what is left to pay.
func TestStaffPaymentsNeverOverpay(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the serve binary")
	}
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			w := newStaffWorld(t, db == "postgres", "INV-1002", "100.00")
			byCode := w.payConcurrently(t, []string{w.base}, 50, "5.00")
			checkNoOverpay(t, w, byCode)
		})
	}
}

// TestStaffPaymentsNeverOverpayAcrossProcesses splits the same 50 requests
// between two serve processes on one Postgres.
func TestStaffPaymentsNeverOverpayAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two serve binaries")
	}
	w := newStaffWorld(t, true, "INV-1002", "100.00")
	addr := freeAddr(t)
	env := append(append([]string(nil), w.env...), "STRIPESYNC_LISTEN="+addr, "STRIPESYNC_PUBLIC_URL=http://"+addr)
	startDaemon(t, env)
	byCode := w.payConcurrently(t, []string{w.base, "http://" + addr}, 50, "5.00")
	checkNoOverpay(t, w, byCode)
}

// leftToPay is the refusal of an amount beyond what is left.
var leftToPay = regexp.MustCompile(`"message":"Only \d+\.\d\d USD is left to pay on INV-1002(: it is Paid)?"`)

func checkNoOverpay(t testing.TB, w *staffWorld, byCode map[int][]string) {
	t.Helper()
	if len(byCode[http.StatusCreated]) != 20 || len(byCode[http.StatusConflict]) != 30 {
		summary := map[int]int{}
		for code, bodies := range byCode {
			summary[code] = len(bodies)
		}
		t.Fatalf("answers by status: %v, want 20 × 201 and 30 × 409; e.g. %v", summary, byCode)
	}
	for _, body := range byCode[http.StatusConflict] {
		if !leftToPay.MatchString(body) {
			t.Errorf("a refused payment says %s", body)
		}
	}
	if n := len(w.intentsOf(w.invoice)); n != 20 {
		t.Errorf("Stripe holds %d PaymentIntents for the invoice, want 20", n)
	}
	waitFor(t, "INV-1002 Paid in the CRM", func() bool { return w.crmInvoice(t, w.invoice)["Status__c"] == "Paid" })
}

// TestStaffPaymentIdempotency replays one request: the same answer, one
// PaymentIntent; other parameters under the key, no token, a wrong token
// or no key are refused.
func TestStaffPaymentIdempotency(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the serve binary")
	}
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			testStaffPaymentIdempotency(t, newStaffWorld(t, db == "postgres", "INV-1003", "50.00"))
		})
	}
}

func testStaffPaymentIdempotency(t *testing.T, w *staffWorld) {
	first := w.pay(t, w.base, "alice", "call-1", "20.00", w.card)
	if first.status != http.StatusCreated || first.replayed {
		t.Fatalf("first payment: %d %s", first.status, first.body)
	}
	again := w.pay(t, w.base, "alice", "call-1", "20.00", w.card)
	if again.status != first.status || again.body != first.body || !again.replayed {
		t.Errorf("replay answered %d %s (replayed %v), want the first answer %s", again.status, again.body, again.replayed, first.body)
	}
	if n := len(w.intentsOf(w.invoice)); n != 1 {
		t.Errorf("%d PaymentIntents after a replay, want 1", n)
	}
	for _, c := range []struct {
		what, name, key, amount string
		status                  int
		says                    string
	}{
		{"the key with another amount", "alice", "call-1", "25.00", http.StatusConflict, "other parameters"},
		{"no token", "", "call-2", "5.00", http.StatusUnauthorized, "staff token"},
		{"a wrong token", "mallory", "call-2", "5.00", http.StatusUnauthorized, "staff token"},
		{"no Idempotency-Key", "alice", "", "5.00", http.StatusBadRequest, "Idempotency-Key"},
		{"more than is left", "bob", "call-3", "30.01", http.StatusConflict, "Only 30.00 USD is left to pay on INV-1003"},
		{"not an amount", "bob", "call-4", "5,00", http.StatusBadRequest, "not an amount"},
	} {
		a := w.pay(t, w.base, c.name, c.key, c.amount, w.card)
		if a.status != c.status || !strings.Contains(a.body, c.says) {
			t.Errorf("%s: %d %s, want %d saying %q", c.what, a.status, a.body, c.status, c.says)
		}
	}
	if n := len(w.intentsOf(w.invoice)); n != 1 {
		t.Errorf("%d PaymentIntents after the refused requests, want still 1", n)
	}
	// The key is alice's: bob's request under the same key is his own.
	if a := w.pay(t, w.base, "bob", "call-1", "20.00", w.card); a.status != http.StatusCreated || a.replayed {
		t.Errorf("bob under alice's key: %d %s", a.status, a.body)
	}
	// A receipt mailed again while the customer is on the phone.
	var firstPaid struct{ ID string }
	_ = json.Unmarshal([]byte(first.body), &firstPaid)
	mailed := w.receiptsMailed()
	if a := w.post(t, "alice", "/v1/payments/"+firstPaid.ID+"/resend-receipt"); a.status != http.StatusOK || !strings.Contains(a.body, `"sent_to":"ap@initech.test"`) {
		t.Errorf("resend the receipt: %d %s", a.status, a.body)
	}
	waitFor(t, "the receipt mailed again", func() bool { return w.receiptsMailed() > mailed })
	// The invoice as staff see it: both payments with their receipts, the
	// saved card, and the trail of every attempt that reached the
	// invoice (replays and refused requests before it are not actions).
	if status, _ := w.invoiceAsStaff(t, ""); status != http.StatusUnauthorized {
		t.Errorf("GET the invoice without a token: %d, want 401", status)
	}
	status, inv := w.invoiceAsStaff(t, "alice")
	if status != http.StatusOK || inv.Number != "INV-1003" || inv.Balance != "10.00" || inv.Payable != "10.00" ||
		inv.Status != "Partially Paid" || len(inv.Payments) != 2 || len(inv.SavedMethods) != 1 || inv.SavedMethods[0].ID != w.card {
		t.Errorf("GET the invoice: %d %+v", status, inv)
	}
	for _, p := range inv.Payments {
		if p.Amount != "20.00" || p.Status != "Succeeded" || p.Channel != "Phone" || !strings.HasPrefix(p.ReceiptURL, w.base+"/receipts/") {
			t.Errorf("payment as staff see it: %+v", p)
		}
	}
	var trail []string
	for _, a := range inv.Audit {
		trail = append(trail, a.Staff+" "+a.Action+" "+a.Detail+": "+a.Outcome)
	}
	want := []string{
		"alice payment 20.00 with " + w.card + ": ok",
		"bob payment 30.01 with " + w.card + ": Only 30.00 USD is left to pay on INV-1003",
		"bob payment 5,00 with " + w.card + `: The amount "5,00" is not an amount of USD, such as 25.00`,
		"bob payment 20.00 with " + w.card + ": ok",
	}
	if len(trail) != 5 || !strings.HasPrefix(trail[4], "alice receipt re-sent R-") || !strings.HasSuffix(trail[4], " to ap@initech.test: ok") {
		t.Errorf("the trail's last entry is not alice's receipt re-sent: %q", trail)
	} else {
		trail = trail[:4]
	}
	if strings.Join(trail, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit trail:\n%s\nwant:\n%s", strings.Join(trail, "\n"), strings.Join(want, "\n"))
	}
	// A removed staff member is locked out once the daemon rereads the
	// file, without a restart.
	w.run(t, "staff", "remove", "--file", w.file, "bob")
	waitFor(t, "bob's token to stop working", func() bool {
		status, _ := w.invoiceAsStaff(t, "bob")
		return status == http.StatusUnauthorized
	})
	if status, _ := w.invoiceAsStaff(t, "alice"); status != http.StatusOK {
		t.Errorf("alice after bob's removal: %d", status)
	}
	var paid struct {
		Status     string `json:"status"`
		ReceiptURL string `json:"receipt_url"`
	}
	if err := json.Unmarshal([]byte(first.body), &paid); err != nil || paid.Status != "Succeeded" || !strings.HasPrefix(paid.ReceiptURL, w.base+"/receipts/") {
		t.Errorf("the payment's answer lacks its status or receipt: %s", first.body)
	}
}

// post sends an empty POST to the staff API as staff member name.
func (w *staffWorld) post(t *testing.T, name, path string) apiAnswer {
	t.Helper()
	req, _ := http.NewRequest("POST", w.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+w.tokens[name])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apiAnswer{status: resp.StatusCode, body: string(b)}
}

// staffInvoice is what GET /v1/invoices/{id} answers.
type staffInvoice struct {
	Number   string `json:"number"`
	Status   string `json:"status"`
	Balance  string `json:"balance"`
	Payable  string `json:"payable"`
	Payments []struct {
		Amount, Status, Channel, Method string
		ReceiptURL                      string `json:"receipt_url"`
	} `json:"payments"`
	SavedMethods []struct{ ID, Label string }                      `json:"saved_methods"`
	Audit        []struct{ Staff, Action, Outcome, Detail string } `json:"audit"`
}

// invoiceAsStaff reads the invoice through the staff API.
func (w *staffWorld) invoiceAsStaff(t testing.TB, name string) (int, staffInvoice) {
	t.Helper()
	req, _ := http.NewRequest("GET", w.base+"/v1/invoices/"+w.invoice, nil)
	if name != "" {
		req.Header.Set("Authorization", "Bearer "+w.tokens[name])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var inv staffInvoice
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&inv); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, inv
}
