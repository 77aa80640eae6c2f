package crmtest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// wire talks raw HTTP to an emulator, to check the wire shapes themselves.
type wire struct {
	t     *testing.T
	s     *Server
	token string
}

func newWire(t *testing.T, opts Options) *wire {
	t.Helper()
	s := NewServer(t, opts)
	w := &wire{t: t, s: s}
	w.token = w.clientCredentialsToken()
	return w
}

func (w *wire) clientCredentialsToken() string {
	w.t.Helper()
	status, _, body := w.post("/services/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {w.s.opts.ClientID}, "client_secret": {w.s.opts.ClientSecret}})
	if status != 200 {
		w.t.Fatalf("token: %d %s", status, body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	mustJSON(w.t, body, &tok)
	return tok.AccessToken
}

func (w *wire) post(path string, form url.Values) (int, http.Header, []byte) {
	w.t.Helper()
	resp, err := http.PostForm(w.s.URL()+path, form)
	if err != nil {
		w.t.Fatal(err)
	}
	return readResponse(w.t, resp)
}

// call sends a data request; path is below /services/data/v62.0 unless it
// starts with /services/.
func (w *wire) call(method, path, body string, header ...string) (int, http.Header, []byte) {
	w.t.Helper()
	if !strings.HasPrefix(path, "/services/") {
		path = "/services/data/v62.0" + path
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, w.s.URL()+path, rd)
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+w.token)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	return readResponse(w.t, resp)
}

func readResponse(t *testing.T, resp *http.Response) (int, http.Header, []byte) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
}

// wantRESTError checks a top-level REST error: status, JSON array,
// errorCode.
func wantRESTError(t *testing.T, status int, header http.Header, body []byte, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status = %d, want %d (body %s)", status, wantStatus, body)
	}
	if ct := header.Get("Content-Type"); ct != "application/json;charset=UTF-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	var errs []map[string]any
	mustJSON(t, body, &errs)
	if len(errs) != 1 || errs[0]["errorCode"] != wantCode || errs[0]["message"] == "" {
		t.Errorf("error body = %s, want one %s with a message", body, wantCode)
	}
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestTokenClientCredentials(t *testing.T) {
	s := NewServer(t, Options{ClientID: "cid", ClientSecret: "shh"})
	w := &wire{t: t, s: s}

	check := func(status int, header http.Header, body []byte) {
		t.Helper()
		if status != 200 {
			t.Fatalf("status %d: %s", status, body)
		}
		var got map[string]any
		mustJSON(t, body, &got)
		want := []string{"access_token", "id", "instance_url", "issued_at", "scope", "signature", "token_type"}
		if diff := cmp.Diff(want, keys(got)); diff != "" {
			t.Errorf("token response keys (-want +got):\n%s", diff)
		}
		if got["instance_url"] != s.URL() || got["token_type"] != "Bearer" {
			t.Errorf("instance_url, token_type = %v, %v", got["instance_url"], got["token_type"])
		}
		if !regexp.MustCompile(`^\d{13}$`).MatchString(got["issued_at"].(string)) {
			t.Errorf("issued_at = %v, want epoch milliseconds as a string", got["issued_at"])
		}
		if !strings.HasSuffix(got["id"].(string), "/id/"+s.orgID+"/"+s.userID) {
			t.Errorf("id = %v", got["id"])
		}
		mac := hmac.New(sha256.New, []byte("shh"))
		mac.Write([]byte(got["id"].(string) + got["issued_at"].(string)))
		if got["signature"] != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
			t.Errorf("signature is not HMAC-SHA256(id+issued_at)")
		}
		if !strings.HasPrefix(got["access_token"].(string), s.orgID[:15]+"!") {
			t.Errorf("access_token = %v, want the org id prefix", got["access_token"])
		}
		if header.Get("Content-Type") != "application/json;charset=UTF-8" {
			t.Errorf("Content-Type = %q", header.Get("Content-Type"))
		}
	}
	check(w.post("/services/oauth2/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"cid"}, "client_secret": {"shh"}}))

	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/services/oauth2/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("cid", "shh")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	check(readResponse(t, resp))

	for _, tt := range []struct {
		form      url.Values
		wantError string
	}{
		{url.Values{"grant_type": {"client_credentials"}, "client_id": {"cid"}, "client_secret": {"wrong"}}, "invalid_client"},
		{url.Values{"grant_type": {"client_credentials"}, "client_id": {"other"}, "client_secret": {"shh"}}, "invalid_client_id"},
		{url.Values{"grant_type": {"password"}, "client_id": {"cid"}}, "unsupported_grant_type"},
		{url.Values{"client_id": {"cid"}}, "invalid_request"},
	} {
		status, _, body := w.post("/services/oauth2/token", tt.form)
		var got map[string]string
		mustJSON(t, body, &got)
		if status != 400 || got["error"] != tt.wantError || got["error_description"] == "" {
			t.Errorf("token(%v) = %d %s, want 400 error %s", tt.form, status, body, tt.wantError)
		}
		if strings.Contains(string(body), "shh") {
			t.Errorf("token error body leaks the secret: %s", body)
		}
	}
	if got := s.Calls().Token; got != 6 {
		t.Errorf("Calls().Token = %d, want 6", got)
	}
}

func TestSessionRequired(t *testing.T) {
	w := newWire(t, Options{})
	// The versions list needs no token and carries no limit header.
	status, header, body := w.call(http.MethodGet, "/services/data/", "")
	if status != 200 || header.Get("Sforce-Limit-Info") != "" || !strings.Contains(string(body), `"version":"62.0"`) {
		t.Errorf("GET /services/data/ = %d %q %s", status, header.Get("Sforce-Limit-Info"), body)
	}
	w.token = "00Dbogus!token"
	status, header, body = w.call(http.MethodGet, "/limits", "")
	wantRESTError(t, status, header, body, 401, "INVALID_SESSION_ID")
	if header.Get("Sforce-Limit-Info") == "" {
		t.Error("401 without Sforce-Limit-Info")
	}
	w.token = ""
	status, header, body = w.call(http.MethodGet, "/query?q=SELECT+Id+FROM+Account", "")
	wantRESTError(t, status, header, body, 401, "INVALID_SESSION_ID")
	if got := w.s.Calls().Unauthorized; got != 2 {
		t.Errorf("Calls().Unauthorized = %d, want 2", got)
	}
}

func TestExpireSessions(t *testing.T) {
	w := newWire(t, Options{})
	if status, _, body := w.call(http.MethodGet, "/limits", ""); status != 200 {
		t.Fatalf("limits: %d %s", status, body)
	}
	w.s.ExpireSessions()
	status, header, body := w.call(http.MethodGet, "/limits", "")
	wantRESTError(t, status, header, body, 401, "INVALID_SESSION_ID")
	w.token = w.clientCredentialsToken()
	if status, _, body := w.call(http.MethodGet, "/limits", ""); status != 200 {
		t.Fatalf("limits after re-auth: %d %s", status, body)
	}
}

var (
	restDateTimeRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$`)
	nextURLRe      = regexp.MustCompile(`^/services/data/v58\.0/query/01g[A-Z0-9]{15}-(\d+)$`)
)

type queryPage struct {
	TotalSize      int              `json:"totalSize"`
	Done           bool             `json:"done"`
	NextRecordsURL *string          `json:"nextRecordsUrl"`
	Records        []map[string]any `json:"records"`
}

func TestQueryPaging(t *testing.T) {
	w := newWire(t, Options{})
	for i := range 450 {
		fields := map[string]any{"Name": "Acct " + string(rune('A'+i%26))}
		if i%2 == 0 {
			fields["Phone"] = "555-0100"
		}
		w.s.Insert("Account", fields)
	}
	// '+' for spaces and a trailing slash, as go-salesforce sends it.
	status, header, body := w.call(http.MethodGet, "/services/data/v58.0/query/?q=SELECT+Id,+Name,+Phone,+SystemModstamp+FROM+Account+ORDER+BY+Id", "",
		"Sforce-Query-Options", "batchSize=200")
	if status != 200 {
		t.Fatalf("query: %d %s", status, body)
	}
	if header.Get("Content-Type") != "application/json;charset=UTF-8" || !strings.HasPrefix(header.Get("Sforce-Limit-Info"), "api-usage=") {
		t.Errorf("headers = %v", header)
	}
	var pages []queryPage
	for {
		var p queryPage
		mustJSON(t, body, &p)
		pages = append(pages, p)
		if p.Done {
			break
		}
		if p.NextRecordsURL == nil || !nextURLRe.MatchString(*p.NextRecordsURL) {
			t.Fatalf("nextRecordsUrl = %v, want /services/data/v58.0/query/01g…-N", p.NextRecordsURL)
		}
		status, _, body = w.call(http.MethodGet, *p.NextRecordsURL, "")
		if status != 200 {
			t.Fatalf("queryMore: %d %s", status, body)
		}
	}
	var sizes []int
	var ids []string
	for _, p := range pages {
		sizes = append(sizes, len(p.Records))
		if p.TotalSize != 450 {
			t.Errorf("totalSize = %d, want 450 on every page", p.TotalSize)
		}
		for _, r := range p.Records {
			ids = append(ids, r["Id"].(string))
		}
	}
	if diff := cmp.Diff([]int{200, 200, 50}, sizes); diff != "" {
		t.Errorf("page sizes (-want +got):\n%s", diff)
	}
	if !slices.IsSorted(ids) || len(ids) != 450 {
		t.Errorf("got %d ids, sorted %v", len(ids), slices.IsSorted(ids))
	}
	last := pages[len(pages)-1]
	if !strings.Contains(string(body), `"done":true`) || strings.Contains(string(body), "nextRecordsUrl") {
		t.Errorf("last page must be done without nextRecordsUrl: %.200s", body)
	}
	r := last.Records[len(last.Records)-1]
	if diff := cmp.Diff([]string{"Id", "Name", "Phone", "SystemModstamp", "attributes"}, keys(r)); diff != "" {
		t.Errorf("record keys (-want +got):\n%s", diff)
	}
	if r["Phone"] != nil {
		t.Errorf("odd record Phone = %v, want null", r["Phone"])
	}
	attrs := r["attributes"].(map[string]any)
	if attrs["type"] != "Account" || attrs["url"] != "/services/data/v58.0/sobjects/Account/"+r["Id"].(string) {
		t.Errorf("attributes = %v", attrs)
	}
	if !restDateTimeRe.MatchString(r["SystemModstamp"].(string)) {
		t.Errorf("SystemModstamp = %v, want the …000+0000 form", r["SystemModstamp"])
	}
	if got := w.s.Calls(); got.Query != 1 || got.QueryMore != 2 {
		t.Errorf("Calls() Query, QueryMore = %d, %d, want 1, 2", got.Query, got.QueryMore)
	}
}

func TestQuerySnapshot(t *testing.T) {
	w := newWire(t, Options{PageSize: 2})
	a := w.s.Insert("Account", map[string]any{"Name": "a"})
	w.s.Insert("Account", map[string]any{"Name": "b"})
	c := w.s.Insert("Account", map[string]any{"Name": "c"})
	_, _, body := w.call(http.MethodGet, "/query?q="+url.QueryEscape("SELECT Id, Name FROM Account ORDER BY Name"), "")
	var p queryPage
	mustJSON(t, body, &p)
	// Changes after the query: a new match is not added to the open
	// result, an edit shows, and the locator still serves the rest.
	w.s.Insert("Account", map[string]any{"Name": "d"})
	w.s.Update("Account", c, map[string]any{"Name": "c2"})
	w.s.Delete("Account", a)
	_, _, body = w.call(http.MethodGet, *p.NextRecordsURL, "")
	var p2 queryPage
	mustJSON(t, body, &p2)
	if p2.TotalSize != 3 || len(p2.Records) != 1 || p2.Records[0]["Name"] != "c2" || !p2.Done {
		t.Errorf("second page = %s, want the snapshot's third record, renamed c2", body)
	}
	// An unknown or out-of-range locator is INVALID_QUERY_LOCATOR.
	status, header, body := w.call(http.MethodGet, strings.Replace(*p.NextRecordsURL, "-2", "-9", 1), "")
	wantRESTError(t, status, header, body, 400, "INVALID_QUERY_LOCATOR")
	status, header, body = w.call(http.MethodGet, "/query/01gNOPE-2", "")
	wantRESTError(t, status, header, body, 400, "INVALID_QUERY_LOCATOR")
}

func TestQueryAllSeesDeletes(t *testing.T) {
	w := newWire(t, Options{})
	keep := w.s.Insert("Account", map[string]any{"Name": "keep"})
	gone := w.s.Insert("Account", map[string]any{"Name": "gone"})
	w.s.Delete("Account", gone)
	if n := w.s.Count("Account"); n != 1 {
		t.Errorf("Count = %d, want 1", n)
	}
	q := url.QueryEscape("SELECT Id, IsDeleted FROM Account ORDER BY Id")
	_, _, body := w.call(http.MethodGet, "/query?q="+q, "")
	var p queryPage
	mustJSON(t, body, &p)
	if p.TotalSize != 1 || p.Records[0]["Id"] != keep {
		t.Errorf("query = %s, want only %s", body, keep)
	}
	_, _, body = w.call(http.MethodGet, "/queryAll/?q="+q, "")
	mustJSON(t, body, &p)
	if p.TotalSize != 2 || p.Records[1]["Id"] != gone || p.Records[1]["IsDeleted"] != true {
		t.Errorf("queryAll = %s, want %s with IsDeleted true", body, gone)
	}
	if got := w.s.Calls().QueryAll; got != 1 {
		t.Errorf("Calls().QueryAll = %d, want 1", got)
	}
}

func TestQueryDateTimeFilter(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	w := newWire(t, Options{Clock: clock})
	early := w.s.Insert("Account", map[string]any{"Name": "early"})
	mu.Lock()
	now = now.Add(1500 * time.Millisecond) // 12:00:01.500
	mu.Unlock()
	late := w.s.Insert("Account", map[string]any{"Name": "late"})
	for _, tt := range []struct {
		literal string
		want    []string
	}{
		{"2024-05-01T12:00:00Z", []string{early, late}},
		{"2024-05-01T12:00:01Z", []string{late}},
		{"2024-05-01T12:00:01.500Z", []string{late}},
		{"2024-05-01T12:00:01.501Z", nil},
		{"2024-05-01T14:00:01%2B02:00", []string{late}}, // +02:00, URL-encoded
		{"2024-05-01T07:00:00-05:00", []string{early, late}},
	} {
		_, _, body := w.call(http.MethodGet, "/query?q=SELECT+Id+FROM+Account+WHERE+SystemModstamp+>%3D+"+tt.literal+"+ORDER+BY+SystemModstamp", "")
		var p queryPage
		mustJSON(t, body, &p)
		var got []string
		for _, r := range p.Records {
			got = append(got, r["Id"].(string))
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("SystemModstamp >= %s (-want +got):\n%s", tt.literal, diff)
		}
	}
}

func TestQueryErrors(t *testing.T) {
	w := newWire(t, Options{})
	for _, tt := range []struct {
		q        string
		wantCode string
	}{
		{"SELECT Id, Bogus__c FROM Account", "INVALID_FIELD"},
		{"SELECT Id FROM Account WHERE SystemModstamp >= '2024-01-01'", "INVALID_FIELD"},
		{"SELECT Id FROM", "MALFORMED_QUERY"},
		{"SELECT Id FROM Nope__c", "INVALID_TYPE"},
		{"", "MALFORMED_QUERY"},
	} {
		status, header, body := w.call(http.MethodGet, "/query?q="+url.QueryEscape(tt.q), "")
		wantRESTError(t, status, header, body, 400, tt.wantCode)
	}
	status, header, body := w.call(http.MethodPost, "/query?q=SELECT+Id+FROM+Account", "{}")
	wantRESTError(t, status, header, body, 405, "METHOD_NOT_ALLOWED")
	status, header, body = w.call(http.MethodGet, "/nothing/here", "")
	wantRESTError(t, status, header, body, 404, "NOT_FOUND")
	status, header, body = w.call(http.MethodGet, "/services/data/latest/limits", "")
	wantRESTError(t, status, header, body, 404, "NOT_FOUND")
}

func TestSObjectCRUD(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	tick := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	}
	w := newWire(t, Options{Clock: tick})

	status, _, body := w.call(http.MethodPost, "/sobjects/Account/", `{"attributes":{"type":"Account"},"Name":"Acme","Stripe_Synced_At__c":"2024-05-01T10:00:00.000+0000"}`)
	if status != 201 {
		t.Fatalf("create: %d %s", status, body)
	}
	var created map[string]any
	mustJSON(t, body, &created)
	id, _ := created["id"].(string)
	if diff := cmp.Diff(map[string]any{"id": id, "success": true, "errors": []any{}}, created); diff != "" || len(id) != 18 || id[:3] != "001" {
		t.Errorf("create body (-want +got):\n%s", diff)
	}

	status, _, body = w.call(http.MethodGet, "/sobjects/Account/"+id+"?fields=Name,Stripe_Synced_At__c,SystemModstamp", "")
	var rec map[string]any
	mustJSON(t, body, &rec)
	if status != 200 || rec["Name"] != "Acme" || rec["Stripe_Synced_At__c"] != "2024-05-01T10:00:00.000+0000" {
		t.Fatalf("get: %d %s", status, body)
	}
	before := rec["SystemModstamp"]

	status, _, body = w.call(http.MethodPatch, "/sobjects/Account/"+id, `{"Phone":"555","Billing_Email__c":""}`)
	if status != 204 || len(body) != 0 {
		t.Fatalf("update: %d %s", status, body)
	}
	got, _ := w.s.Get("Account", id)
	if got["Phone"] != "555" || got["Billing_Email__c"] != nil || got["SystemModstamp"] == before {
		t.Errorf("after update: %v (modstamp before %v)", got, before)
	}

	for _, tt := range []struct {
		method, path, body string
		wantStatus         int
		wantCode           string
	}{
		{http.MethodPost, "/sobjects/Nope__c", `{"Name":"x"}`, 404, "NOT_FOUND"},
		{http.MethodPost, "/sobjects/Account", `{"Name":"x","Bogus__c":1}`, 400, "INVALID_FIELD"},
		{http.MethodPost, "/sobjects/Account", `{"Name":"x","SystemModstamp":"2024-01-01T00:00:00Z"}`, 400, "INVALID_FIELD_FOR_INSERT_UPDATE"},
		{http.MethodPost, "/sobjects/Account", `{"Phone":"1"}`, 400, "REQUIRED_FIELD_MISSING"},
		{http.MethodPost, "/sobjects/Account", `{"Name":"x","Stripe_Synced_At__c":5}`, 400, "JSON_PARSER_ERROR"},
		{http.MethodPost, "/sobjects/Account", `not json`, 400, "JSON_PARSER_ERROR"},
		{http.MethodPatch, "/sobjects/Account/001RO0000000zzzAAA", `{"Name":"x"}`, 404, "NOT_FOUND"},
		{http.MethodPatch, "/sobjects/Account/a0XRO0000000001AAA", `{"Name":"x"}`, 400, "MALFORMED_ID"},
		{http.MethodGet, "/sobjects/Account/" + id + "?fields=Nope", "", 400, "INVALID_FIELD"},
	} {
		status, header, body := w.call(tt.method, tt.path, tt.body)
		wantRESTError(t, status, header, body, tt.wantStatus, tt.wantCode)
	}

	if status, _, body := w.call(http.MethodDelete, "/sobjects/Account/"+id, ""); status != 204 {
		t.Fatalf("delete: %d %s", status, body)
	}
	status, header, body := w.call(http.MethodGet, "/sobjects/Account/"+id, "")
	wantRESTError(t, status, header, body, 404, "ENTITY_IS_DELETED")
	if got := w.s.Calls().SObject; got != 14 {
		t.Errorf("Calls().SObject = %d, want 14", got)
	}
}

func TestUpsertByExternalID(t *testing.T) {
	w := newWire(t, Options{})
	path := "/sobjects/Payment__c/Stripe_Payment_Id__c/pi_123"
	status, _, body := w.call(http.MethodPatch, path, `{"Amount__c":12.50,"Status__c":"Processing"}`)
	var res map[string]any
	mustJSON(t, body, &res)
	if status != 201 || res["created"] != true || res["success"] != true {
		t.Fatalf("first upsert = %d %s, want 201 created", status, body)
	}
	id := res["id"].(string)
	status, _, body = w.call(http.MethodPatch, path, `{"Status__c":"Succeeded"}`)
	mustJSON(t, body, &res)
	if status != 200 || res["created"] != false || res["id"] != id {
		t.Fatalf("second upsert = %d %s, want 200 created:false", status, body)
	}
	got, _ := w.s.Get("Payment__c", id)
	if got["Amount__c"] != "12.5" || got["Status__c"] != "Succeeded" || got["Stripe_Payment_Id__c"] != "pi_123" {
		t.Errorf("record after upserts = %v", got)
	}
	// Before API v46 an update answers 204.
	status, _, body = w.call(http.MethodPatch, "/services/data/v45.0"+path, `{"Status__c":"Refunded"}`)
	if status != 204 || len(body) != 0 {
		t.Errorf("v45 upsert = %d %s, want 204", status, body)
	}
	// Two records with one external id: 300 with their URLs.
	w.s.Insert("Payment__c", map[string]any{"Stripe_Payment_Id__c": "pi_dup"})
	w.s.Insert("Payment__c", map[string]any{"Stripe_Payment_Id__c": "PI_DUP"})
	status, _, body = w.call(http.MethodPatch, "/sobjects/Payment__c/Stripe_Payment_Id__c/pi_dup", `{}`)
	var urls []string
	mustJSON(t, body, &urls)
	if status != 300 || len(urls) != 2 || !strings.HasPrefix(urls[0], "/services/data/v62.0/sobjects/Payment__c/a0Y") {
		t.Errorf("ambiguous upsert = %d %s, want 300 with two URLs", status, body)
	}
	// A field that is not an External ID: 404.
	status, header, body := w.call(http.MethodPatch, "/sobjects/Payment__c/Status__c/x", `{}`)
	wantRESTError(t, status, header, body, 404, "NOT_FOUND")
	if got := w.s.Calls().Upsert; got != 5 {
		t.Errorf("Calls().Upsert = %d, want 5", got)
	}
}

type itemResult struct {
	ID      string `json:"id"`
	Success bool   `json:"success"`
	Created *bool  `json:"created"`
	Errors  []struct {
		StatusCode string   `json:"statusCode"`
		Message    string   `json:"message"`
		Fields     []string `json:"fields"`
	} `json:"errors"`
}

func TestCollections(t *testing.T) {
	w := newWire(t, Options{})
	a := w.s.Insert("Account", map[string]any{"Name": "a"})
	b := w.s.Insert("Account", map[string]any{"Name": "b"})
	gone := w.s.Insert("Account", map[string]any{"Name": "gone"})
	w.s.Delete("Account", gone)

	results := func(status int, _ http.Header, body []byte) []itemResult {
		t.Helper()
		if status != 200 {
			t.Fatalf("collections: %d %s", status, body)
		}
		var rs []itemResult
		mustJSON(t, body, &rs)
		return rs
	}

	// Update: per-item errors under statusCode; the good items apply.
	rs := results(w.call(http.MethodPatch, "/composite/sobjects", `{"allOrNone":false,"records":[
		{"attributes":{"type":"Account"},"id":"`+a+`","Phone":"1"},
		{"attributes":{"type":"Account"},"Id":"`+gone+`","Phone":"2"},
		{"attributes":{"type":"Account"},"Phone":"3"},
		{"attributes":{"type":"Account"},"Id":"`+b+`","Nope__c":"4"}]}`))
	var codes []string
	for _, r := range rs {
		if r.Success {
			codes = append(codes, "ok")
		} else {
			codes = append(codes, r.Errors[0].StatusCode)
		}
	}
	if diff := cmp.Diff([]string{"ok", "ENTITY_IS_DELETED", "MISSING_ARGUMENT", "INVALID_FIELD"}, codes); diff != "" {
		t.Errorf("update results (-want +got):\n%s", diff)
	}
	if got, _ := w.s.Get("Account", a); got["Phone"] != "1" {
		t.Errorf("a.Phone = %v, want 1", got["Phone"])
	}

	// allOrNone: nothing applies; the good item reports the rollback.
	rs = results(w.call(http.MethodPatch, "/composite/sobjects/", `{"allOrNone":true,"records":[
		{"attributes":{"type":"Account"},"id":"`+b+`","Phone":"9"},
		{"attributes":{"type":"Account"},"id":"`+gone+`","Phone":"9"}]}`))
	if rs[0].Success || rs[0].ID != b || rs[0].Errors[0].StatusCode != "ALL_OR_NONE_OPERATION_ROLLED_BACK" || rs[1].Errors[0].StatusCode != "ENTITY_IS_DELETED" {
		t.Errorf("allOrNone results = %+v", rs)
	}
	if got, _ := w.s.Get("Account", b); got["Phone"] != nil {
		t.Errorf("b.Phone = %v after a rolled-back call", got["Phone"])
	}

	// Create.
	rs = results(w.call(http.MethodPost, "/composite/sobjects", `{"records":[
		{"attributes":{"type":"Invoice__c"},"Name":"INV-1","Amount__c":"10.00"},
		{"Name":"no type"}]}`))
	if !rs[0].Success || !strings.HasPrefix(rs[0].ID, "a0X") || rs[1].Errors[0].StatusCode != "INVALID_TYPE" {
		t.Errorf("create results = %+v", rs)
	}

	// Upsert by external id; "Id":"" counts as absent.
	rs = results(w.call(http.MethodPatch, "/composite/sobjects/Payment__c/Stripe_Payment_Id__c", `{"allOrNone":false,"records":[
		{"attributes":{"type":"Payment__c"},"Id":"","Stripe_Payment_Id__c":"pi_1","Amount__c":5},
		{"attributes":{"type":"Payment__c"},"Stripe_Payment_Id__c":"pi_1","Status__c":"Succeeded"},
		{"attributes":{"type":"Payment__c"},"Status__c":"Failed"}]}`))
	if !rs[0].Success || *rs[0].Created != true || !rs[1].Success || *rs[1].Created != false || rs[1].ID != rs[0].ID ||
		rs[2].Errors[0].StatusCode != "REQUIRED_FIELD_MISSING" {
		t.Errorf("upsert results = %+v", rs)
	}
	status, header, body := w.call(http.MethodPatch, "/composite/sobjects/Payment__c/Status__c", `{"records":[]}`)
	wantRESTError(t, status, header, body, 400, "INVALID_FIELD")

	// Delete by ids.
	rs = results(w.call(http.MethodDelete, "/composite/sobjects?ids="+a+","+gone+"&allOrNone=false", ""))
	if !rs[0].Success || rs[0].ID != a || rs[1].Errors[0].StatusCode != "ENTITY_IS_DELETED" {
		t.Errorf("delete results = %+v", rs)
	}
	if n := w.s.Count("Account"); n != 1 {
		t.Errorf("Count(Account) = %d, want 1", n)
	}

	// More than 200 records is a top-level 400.
	recs := make([]string, 201)
	for i := range recs {
		recs[i] = `{"attributes":{"type":"Account"},"id":"` + b + `","Phone":"x"}`
	}
	status, header, body = w.call(http.MethodPatch, "/composite/sobjects", `{"allOrNone":false,"records":[`+strings.Join(recs, ",")+`]}`)
	wantRESTError(t, status, header, body, 400, "EXCEEDED_ID_LIMIT")
	if got, _ := w.s.Get("Account", b); got["Phone"] != nil {
		t.Error("a refused 201-record call changed data")
	}
}

func TestAPILimit(t *testing.T) {
	w := newWire(t, Options{APILimit: 3})
	for i := range 3 {
		status, header, body := w.call(http.MethodGet, "/limits", "")
		if status != 200 {
			t.Fatalf("call %d: %d %s", i, status, body)
		}
		if got, want := header.Get("Sforce-Limit-Info"), "api-usage="+string(rune('1'+i))+"/3"; got != want {
			t.Errorf("Sforce-Limit-Info = %q, want %q", got, want)
		}
		var limits map[string]map[string]int
		mustJSON(t, body, &limits)
		if limits["DailyApiRequests"]["Max"] != 3 || limits["DailyApiRequests"]["Remaining"] != 2-i {
			t.Errorf("limits = %s", body)
		}
	}
	status, header, body := w.call(http.MethodGet, "/limits", "")
	wantRESTError(t, status, header, body, 403, "REQUEST_LIMIT_EXCEEDED")
	if !strings.Contains(string(body), "TotalRequests Limit exceeded.") || header.Get("Sforce-Limit-Info") != "api-usage=3/3" {
		t.Errorf("limit response = %s, %q", body, header.Get("Sforce-Limit-Info"))
	}
	if got := w.s.Calls(); got.LimitRefused != 1 || got.APIUsage != 3 {
		t.Errorf("Calls() = %+v", got)
	}
}

func TestFaults(t *testing.T) {
	w := newWire(t, Options{})
	id := w.s.Insert("Account", map[string]any{"Name": "a"})

	t.Run("HTML503", func(t *testing.T) {
		w.s.InjectFault(Fault{Kind: FaultHTML503, Times: 2, After: 1, Path: "/limits"})
		defer w.s.ClearFaults()
		var statuses []int
		for range 4 {
			status, header, body := w.call(http.MethodGet, "/limits", "")
			statuses = append(statuses, status)
			if status == 503 && (!strings.HasPrefix(header.Get("Content-Type"), "text/html") || body[0] != '<') {
				t.Errorf("503 = %q %s, want an HTML body", header.Get("Content-Type"), body)
			}
		}
		if diff := cmp.Diff([]int{200, 503, 503, 200}, statuses); diff != "" {
			t.Errorf("statuses (-want +got):\n%s", diff)
		}
	})

	t.Run("UnableToLockRow", func(t *testing.T) {
		w.s.InjectFault(Fault{Kind: FaultUnableToLockRow})
		defer w.s.ClearFaults()
		status, header, body := w.call(http.MethodPatch, "/sobjects/Account/"+id, `{"Phone":"1"}`)
		wantRESTError(t, status, header, body, 400, "UNABLE_TO_LOCK_ROW")
		status, _, body = w.call(http.MethodPatch, "/composite/sobjects", `{"records":[{"attributes":{"type":"Account"},"id":"`+id+`","Phone":"2"}]}`)
		var rs []itemResult
		mustJSON(t, body, &rs)
		if status != 200 || len(rs) != 1 || rs[0].Success || rs[0].Errors[0].StatusCode != "UNABLE_TO_LOCK_ROW" {
			t.Errorf("collections under lock = %d %s", status, body)
		}
		if got, _ := w.s.Get("Account", id); got["Phone"] != nil {
			t.Errorf("Phone = %v, want nothing applied", got["Phone"])
		}
	})

	t.Run("SessionExpired", func(t *testing.T) {
		w.s.InjectFault(Fault{Kind: FaultSessionExpired, Times: 1})
		defer w.s.ClearFaults()
		status, header, body := w.call(http.MethodGet, "/limits", "")
		wantRESTError(t, status, header, body, 401, "INVALID_SESSION_ID")
		status, header, body = w.call(http.MethodGet, "/limits", "")
		wantRESTError(t, status, header, body, 401, "INVALID_SESSION_ID") // the token is really gone
		w.token = w.clientCredentialsToken()
		if status, _, body := w.call(http.MethodGet, "/limits", ""); status != 200 {
			t.Errorf("after re-auth: %d %s", status, body)
		}
	})

	t.Run("RequestLimit", func(t *testing.T) {
		w.s.InjectFault(Fault{Kind: FaultRequestLimit, Times: 1})
		defer w.s.ClearFaults()
		status, header, body := w.call(http.MethodGet, "/limits", "")
		wantRESTError(t, status, header, body, 403, "REQUEST_LIMIT_EXCEEDED")
	})

	t.Run("DropResponse", func(t *testing.T) {
		w.s.InjectFault(Fault{Kind: FaultDropResponse, Times: 1})
		defer w.s.ClearFaults()
		req, _ := http.NewRequest(http.MethodPatch, w.s.URL()+"/services/data/v62.0/sobjects/Account/"+id, strings.NewReader(`{"Phone":"dropped"}`))
		req.Header.Set("Authorization", "Bearer "+w.token)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("got a response (%d), want the connection closed", resp.StatusCode)
		}
		if got, _ := w.s.Get("Account", id); got["Phone"] != "dropped" {
			t.Errorf("Phone = %v, want the write applied", got["Phone"])
		}
	})

	if got := w.s.Calls().Faults; got != 7 {
		t.Errorf("Calls().Faults = %d, want 7", got)
	}
}

func TestLatency(t *testing.T) {
	w := newWire(t, Options{Latency: 30 * time.Millisecond})
	start := time.Now()
	w.call(http.MethodGet, "/limits", "")
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("call took %v, want at least the 30ms latency", d)
	}
	w.s.SetLatency(0)
	start = time.Now()
	w.call(http.MethodGet, "/limits", "")
	if d := time.Since(start); d > 25*time.Millisecond {
		t.Errorf("call took %v after SetLatency(0)", d)
	}
}

func TestExtraFields(t *testing.T) {
	w := newWire(t, Options{ExtraFields: map[string]map[string]FieldType{
		"Account":    {"Invoice_Email__c": FieldText},
		"Project__c": {"Budget__c": FieldDecimal},
	}})
	id := w.s.Insert("Account", map[string]any{"Name": "a", "Invoice_Email__c": "billing@example.com"})
	status, _, body := w.call(http.MethodGet, "/query?q="+url.QueryEscape("SELECT Invoice_Email__c FROM Account"), "")
	if status != 200 || !strings.Contains(string(body), `"Invoice_Email__c":"billing@example.com"`) {
		t.Errorf("query extra field = %d %s", status, body)
	}
	pid := w.s.Insert("Project__c", map[string]any{"Budget__c": "10.5"})
	if !strings.HasPrefix(pid, "a1") || id[:3] != "001" {
		t.Errorf("ids %s, %s", id, pid)
	}
}

func TestConcurrentUse(t *testing.T) {
	w := newWire(t, Options{PageSize: 200})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 25 {
				status, _, body := w.call(http.MethodPost, "/sobjects/Account", `{"Name":"g`+string(rune('a'+g))+`"}`)
				if status != 201 {
					t.Errorf("create: %d %s", status, body)
					return
				}
				var res struct{ ID string }
				json.Unmarshal(body, &res)
				if i%5 == 0 {
					w.call(http.MethodPatch, "/sobjects/Account/"+res.ID, `{"Phone":"1"}`)
					w.call(http.MethodGet, "/queryAll?q=SELECT+Id+FROM+Account+WHERE+Phone+!%3D+null", "")
				}
			}
		})
	}
	wg.Wait()
	if n := w.s.Count("Account"); n != 200 {
		t.Errorf("Count = %d, want 200", n)
	}
}
