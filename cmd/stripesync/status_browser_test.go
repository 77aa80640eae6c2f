package main

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/stripesync/stripesync/internal/browsertest"
)

// TestStatusPageInChromium opens the status page of the serve binary in
// a real browser, as an operator would: without a session it is 401 with a
// link to sign in, which comes back to /status; the page shows the
// lagging webhook inbox (an event received two hours ago, waiting for its
// retry), the dead letter with its last error and attempts, the last
// reconcile's drift and Salesforce's usage from the write-back the daemon
// made; Retry puts the dead letter back in the queue. Screenshots at
// desktop and phone widths.
func TestStatusPageInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the serve binary and Chromium")
	}
	w := newStaffWorld(t, false, "INV-9001", "25.00")
	db := openDaemonDB(t, envValue(t, w.env, "STRIPESYNC_DATABASE_URL"))
	now := time.Now()
	us := func(d time.Duration) int64 { return now.Add(d).UnixMicro() }
	var dead int64
	err := db.QueryRow("INSERT INTO jobs (kind, key, payload, attempts, max_attempts, run_at, last_error, dead, created_at)"+
		" VALUES ('crm.payment', '', ?, 5, 5, ?, ?, 1, ?) RETURNING id",
		[]byte(`{"id":"pi_gone"}`), us(-time.Hour), "CRM refused Payment__c: ENTITY_IS_DELETED", us(-3*time.Hour)).Scan(&dead)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		// A webhook the worker failed on, waiting an hour for its retry.
		{"INSERT INTO stripe_events (id, type, created, received_at, attempts, last_error, locked_until)" +
			" VALUES ('evt_stuck', 'payment_intent.succeeded', ?, ?, 3, 'database is locked', ?)",
			[]any{us(-2 * time.Hour), us(-2 * time.Hour), us(time.Hour)}},
		// The invoice's write-back, which the worker makes at once: a CRM
		// call that reports the API usage.
		{"INSERT INTO jobs (kind, key, payload, max_attempts, run_at, created_at) VALUES ('crm.invoice', '', ?, 10, ?, ?)",
			[]any{[]byte(`{"id":"` + w.invoice + `"}`), us(0), us(0)}},
		// The reconcile run, as the reconcile command writes it.
		{"INSERT INTO sync_runs (kind, started_at, finished_at, status, seen, pushed, failed) VALUES ('reconcile', ?, ?, 'succeeded', 40, 1, 2)",
			[]any{us(-30 * time.Minute), us(-29 * time.Minute)}},
	} {
		if _, err := db.Exec(q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}

	// Without a token: 401, over plain HTTP and in the browser.
	resp, err := http.Get(w.base + "/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("GET /status without a token: %d, WWW-Authenticate %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	b := newBrowser(t)
	browsertest.Open(t, b.ctx, w.base+"/status")
	b.waitText(t, "Sign in to see the status")
	b.do(t, "follow the sign-in link", chromedp.Click(chromedp.CSS(`main a[href^="/staff/sign-in"]`)))
	b.waitText(t, "Sign in to the staff console")
	b.do(t, "sign in",
		chromedp.SendKeys(chromedp.CSS("#token"), w.tokens["alice"]),
		chromedp.Click(chromedp.CSS("#sign-in")),
	)
	b.waitText(t, "Inboxes and queues")
	// The invoice's page reads its saved methods from Stripe: requests
	// the page counts.
	browsertest.Open(t, b.ctx, w.base+"/staff/invoices/"+w.invoice)
	b.waitText(t, "Invoice INV-9001")
	var page string
	waitFor(t, "the write-back's Salesforce usage on the page", func() bool {
		browsertest.Open(t, b.ctx, w.base+"/status")
		page = b.text(t)
		return !strings.Contains(page, "not reported yet")
	})
	for _, want := range []string{
		"Signed in as alice",
		"2h 0m ago lagging", // the oldest unprocessed webhook
		"CRM refused Payment__c: ENTITY_IS_DELETED", "5 of 5",
		"found 2 drifted; 1 repaired",
		"of 100000", // Salesforce's allocation, as the CRM emulator reports it
		"Payment pull",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the status page does not show %q:\n%s", want, page)
		}
	}
	if got := value(t, b, "read the Stripe rate", chromedp.Text(chromedp.CSS("#stripe-rate"))); strings.HasPrefix(got, "0 ") {
		t.Errorf("Stripe requests %q after the invoice page read the saved methods", got)
	}
	browsertest.AssertAccessible(t, b.ctx)
	browsertest.Screenshot(t, b.ctx, "status")
	phone := emulation.SetDeviceMetricsOverrideParams{Width: 390, Height: 844, DeviceScaleFactor: 2, Mobile: true}
	if _, err := chromedp.Call(b.ctx, emulation.SetDeviceMetricsOverride, phone); err != nil {
		t.Fatal(err)
	}
	browsertest.Open(t, b.ctx, w.base+"/status")
	browsertest.Screenshot(t, b.ctx, "status-phone")
	if wide := value(t, b, "measure the page", chromedp.Evaluate[int](`document.documentElement.scrollWidth`)); wide > 390 {
		t.Errorf("on a 390px phone the page is %dpx wide: it scrolls sideways", wide)
	}

	b.do(t, "retry the dead letter", chromedp.Click(chromedp.CSS(`form[action="/status/dead-letters/`+strconv.FormatInt(dead, 10)+`/retry"] button`)))
	b.waitText(t, "is back in the queue")
	var isDead bool
	if err := db.QueryRow("SELECT dead FROM jobs WHERE id = ?", dead).Scan(&isDead); err != nil || isDead {
		t.Errorf("after the retry job %d: dead %v, %v; want it back in the queue", dead, isDead, err)
	}

	// The page refreshes its figures without a reload: a dead letter that
	// appears after it was drawn shows up on the same document.
	value(t, b, "mark the document", chromedp.Evaluate[bool](`document.activeElement.blur(); window.drawnOnce = true`))
	if _, err := db.Exec("INSERT INTO jobs (kind, key, payload, attempts, max_attempts, run_at, last_error, dead, created_at)"+
		" VALUES ('receipt.send', '', ?, 8, 8, ?, ?, 1, ?)", []byte(`{"id":"pi_late"}`), us(0), "SMTP 554: mailbox unavailable", us(0)); err != nil {
		t.Fatal(err)
	}
	waitForText := func() bool { return strings.Contains(b.text(t), "SMTP 554: mailbox unavailable") }
	deadline := time.Now().Add(25 * time.Second)
	for !waitForText() && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
	}
	if !waitForText() {
		t.Errorf("the page did not refresh itself within 25 s:\n%s", b.text(t))
	}
	if same := value(t, b, "check the document", chromedp.Evaluate[bool](`window.drawnOnce === true`)); !same {
		t.Error("the page reloaded itself instead of refreshing its figures")
	}
}

// envValue is the value of key in env.
func envValue(t *testing.T, env []string, key string) string {
	t.Helper()
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	t.Fatalf("no %s in the environment", key)
	return ""
}
