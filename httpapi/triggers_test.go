package httpapi_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/httpapi"
	"github.com/stripesync/stripesync/store/storetest"
)

// sign is the X-Stripesync-Signature value an Apex callout sends.
func sign(body []byte, key string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// postTrigger posts a JSON trigger with the given signature header ("" for
// none) and decodes the JSON answer.
func postTrigger(t *testing.T, srv *httptest.Server, body []byte, signature string) (int, map[string]any) {
	t.Helper()
	header := map[string]string{"Content-Type": "application/json"}
	if signature != "" {
		header[httpapi.TriggerSignatureHeader] = signature
	}
	got := postBody(t, srv.Client(), srv.URL+"/v1/triggers", body, header)
	var out map[string]any
	if got.ctype != "application/json" || json.Unmarshal([]byte(got.body), &out) != nil {
		t.Fatalf("answer %d %q is not JSON: %q", got.status, got.ctype, got.body)
	}
	return got.status, out
}

// triggerBody is a JSON trigger naming n ids of object.
func triggerBody(object string, n int) []byte {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("a0B%015d", i+1)
	}
	b, _ := json.Marshal(map[string]any{"object": object, "ids": ids})
	return b
}

func TestJSONTriggerIsStoredThenAccepted(t *testing.T) {
	srv, in := triggerServer(t, storetest.OpenSQLite(t), nil)
	// A 15-character id and an 18-character one; the second trigger names
	// the most ids allowed.
	first := []byte(`{"object":"Account","ids":["001RO0000000001","001RO0000000002AAA"]}`)
	status, out := postTrigger(t, srv, first, sign(first, triggerSecret))
	if status != http.StatusAccepted || !cmp.Equal(out, map[string]any{"accepted": 2.0}) {
		t.Fatalf("trigger of 2 accounts: %d %v, want 202 {accepted: 2}", status, out)
	}
	most := triggerBody(stripesync.ObjectInvoice, httpapi.MaxTriggerIDs)
	status, out = postTrigger(t, srv, most, sign(most, triggerSecret))
	if status != http.StatusAccepted || !cmp.Equal(out, map[string]any{"accepted": 200.0}) {
		t.Fatalf("trigger of 200 invoices: %d %v, want 202 {accepted: 200}", status, out)
	}

	calls, woken := in.record()
	if diff := cmp.Diff([]int{2, 200}, calls); diff != "" {
		t.Errorf("AcceptTriggers calls, by size (-want +got):\n%s", diff)
	}
	if woken != 2 {
		t.Errorf("worker woken %d times, want 2", woken)
	}
	got := triggerKeys(in.claimAll(t))
	want := []stripesync.Trigger{
		{Object: stripesync.ObjectAccount, RecordID: "001RO0000000001"},
		{Object: stripesync.ObjectAccount, RecordID: "001RO0000000002AAA"},
	}
	for i := range httpapi.MaxTriggerIDs {
		want = append(want, stripesync.Trigger{Object: stripesync.ObjectInvoice, RecordID: fmt.Sprintf("a0B%015d", i+1)})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored triggers (-want +got):\n%s", diff)
	}
}

func TestJSONTriggerRefusesBadRequestsAndWritesNothing(t *testing.T) {
	srv, in := triggerServer(t, storetest.OpenSQLite(t), nil)
	good := []byte(`{"object":"Account","ids":["001RO0000000001AAA"]}`)
	oversized := []byte(`{"object":"Account","ids":["001RO0000000001AAA"],"pad":"` + strings.Repeat("x", httpapi.DefaultTriggerMaxBody) + `"}`)
	type req struct{ body, signature string }
	signed := func(body string) req { return req{body, sign([]byte(body), triggerSecret)} }
	cases := []struct {
		name       string
		req        req
		wantStatus int
	}{
		{"no signature", req{string(good), ""}, 401},
		{"signed with another key", req{string(good), sign(good, "another-secret")}, 401},
		{"signature of another body", req{`{"object":"Account","ids":["001RO0000000002AAA"]}`, sign(good, triggerSecret)}, 401},
		{"bare hex", req{string(good), strings.TrimPrefix(sign(good, triggerSecret), "sha256=")}, 401},
		{"other algorithm", req{string(good), "sha1=" + strings.TrimPrefix(sign(good, triggerSecret), "sha256=")}, 401},
		{"truncated signature", req{string(good), sign(good, triggerSecret)[:60]}, 401},
		{"signature not hex", req{string(good), "sha256=" + strings.Repeat("zz", 32)}, 401},
		// The signature is checked first: bad JSON without one is 401.
		{"unsigned bad JSON", req{`{"object":`, "sha256=" + strings.Repeat("00", 32)}, 401},
		{"oversized", req{string(oversized), sign(oversized, triggerSecret)}, 413},
		{"bad JSON", signed(`{"object":"Account","ids":[`), 400},
		{"not an object", signed(`["001RO0000000001AAA"]`), 400},
		{"null", signed(`null`), 400},
		{"unknown field", signed(`{"object":"Account","ids":["001RO0000000001AAA"],"force":true}`), 400},
		{"trailing data", signed(`{"object":"Account","ids":["001RO0000000001AAA"]} x`), 400},
		{"two objects", signed(`{"object":"Account","ids":["001RO0000000001AAA"]}{"object":"Account","ids":["001RO0000000002AAA"]}`), 400},
		{"unknown object", signed(`{"object":"Contact","ids":["003RO0000000001AAA"]}`), 400},
		{"object in the wrong case", signed(`{"object":"account","ids":["001RO0000000001AAA"]}`), 400},
		{"no object", signed(`{"ids":["001RO0000000001AAA"]}`), 400},
		{"no ids", signed(`{"object":"Account"}`), 400},
		{"empty ids", signed(`{"object":"Account","ids":[]}`), 400},
		{"201 ids", signed(string(triggerBody(stripesync.ObjectInvoice, httpapi.MaxTriggerIDs+1))), 400},
		{"16-character id", signed(`{"object":"Account","ids":["001RO00000000001"]}`), 400},
		{"id with a quote", signed(`{"object":"Account","ids":["001RO0000000001' OR"]}`), 400},
		{"non-ASCII id", signed(`{"object":"Account","ids":["001RO00000000é"]}`), 400},
		{"null id", signed(`{"object":"Account","ids":["001RO0000000001AAA",null]}`), 400},
		{"ids not strings", signed(`{"object":"Account","ids":[1]}`), 400},
	}
	for _, c := range cases {
		status, out := postTrigger(t, srv, []byte(c.req.body), c.req.signature)
		if status != c.wantStatus {
			t.Errorf("%s: %d %v, want %d", c.name, status, out, c.wantStatus)
		}
		errObj, _ := out["error"].(map[string]any)
		wantCode := stripesync.EINVALID
		if c.wantStatus == http.StatusUnauthorized {
			wantCode = stripesync.EUNAUTHORIZED
		}
		if errObj["code"] != string(wantCode) {
			t.Errorf("%s: body %v, want an error with code %q", c.name, out, wantCode)
		}
		if msg, _ := errObj["message"].(string); strings.Contains(msg, triggerSecret) {
			t.Errorf("%s: error message leaks the secret: %q", c.name, msg)
		}
		if claimed := in.claimAll(t); len(claimed) != 0 {
			t.Errorf("%s: stored %d triggers, want none", c.name, len(claimed))
		}
	}
	if calls, woken := in.record(); len(calls) != 0 || woken != 0 {
		t.Errorf("bad triggers reached AcceptTriggers %d times and woke the worker %d times; want neither", len(calls), woken)
	}
}

func TestJSONTriggerWithoutSecretRefusesEverything(t *testing.T) {
	srv, in := triggerServer(t, storetest.OpenSQLite(t), func(c *httpapi.TriggerConfig) { c.Secret = "" })
	body := []byte(`{"object":"Account","ids":["001RO0000000001AAA"]}`)
	// With an empty key anyone could compute the HMAC.
	if status, out := postTrigger(t, srv, body, sign(body, "")); status != http.StatusUnauthorized {
		t.Errorf("trigger signed with the empty key: %d %v, want 401", status, out)
	}
	if calls, _ := in.record(); len(calls) != 0 {
		t.Errorf("AcceptTriggers called %d times, want 0", len(calls))
	}
}

func TestJSONTriggerAnswers503WhenItCannotStore(t *testing.T) {
	db := storetest.OpenSQLite(t)
	srv, in := triggerServer(t, db, nil)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"object":"Account","ids":["001RO0000000001AAA"]}`)
	status, out := postTrigger(t, srv, body, sign(body, triggerSecret))
	if status != http.StatusServiceUnavailable || !cmp.Equal(out, errBody("unavailable", "triggers not stored; retry")) {
		t.Errorf("with the database closed: %d %v, want 503 so the callout is retried", status, out)
	}
	if _, woken := in.record(); woken != 0 {
		t.Errorf("worker woken %d times, want 0", woken)
	}
}
