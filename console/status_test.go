package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/store/storetest"
)

// plantDeadLetter makes a receipt job that failed its one attempt and a
// Stripe webhook received an hour before the fixture's now that no worker
// has processed, and returns the job's id.
func (f *fixture) plantDeadLetter(t *testing.T) int64 {
	t.Helper()
	ctx := t.Context()
	db := f.db.WithClock(func() time.Time { return f.now.Add(-time.Hour) })
	if _, err := db.AcceptEvent(ctx, stripesync.Event{ID: "evt_old", Type: stripesync.EventPaymentIntentSucceeded, Created: f.now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return storetest.DeadLetter(t, db, stripesync.JobSendReceipt, "pi_1", "smtp: 550 mailbox unavailable").ID
}

// deadIDs are the ids of the dead letters in the ledger.
func (f *fixture) deadIDs(t *testing.T) []int64 {
	t.Helper()
	jobs, err := f.db.DeadJobs(t.Context(), "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, j := range jobs {
		ids = append(ids, j.ID)
	}
	return ids
}

// TestStatusPageNeedsAToken answers 401 with a way to sign in that
// returns to /status, reads the page with a bearer token (no forms: they
// need a session's CSRF token), and with a session; the page allows this
// site only and is not cached.
func TestStatusPageNeedsAToken(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:8080")
	id := f.plantDeadLetter(t)
	for _, header := range [][]string{nil, {"Authorization", "Bearer sst_wrong"}, {"Authorization", "Basic " + aliceToken}} {
		a := f.do(t, "GET", "/status", nil, nil, header...)
		if a.status != http.StatusUnauthorized || !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") ||
			!strings.Contains(a.body, `href="/staff/sign-in?next=/status"`) || strings.Contains(a.body, "smtp: 550") {
			t.Errorf("with %v: %d %q\n%s", header, a.status, a.header.Get("WWW-Authenticate"), a.body)
		}
	}
	a := f.do(t, "GET", "/status", nil, nil, "Authorization", "Bearer "+aliceToken)
	if a.status != http.StatusOK || !strings.Contains(a.body, "smtp: 550 mailbox unavailable") || strings.Contains(a.body, "/dead-letters/") {
		t.Errorf("with a bearer token: %d, want the page without forms\n%s", a.status, a.body)
	}
	if csp := a.header.Get("Content-Security-Policy"); strings.Contains(csp, "127.0.0.1:12111") || !strings.Contains(csp, "frame-ancestors 'none'") ||
		a.header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers CSP %q, Cache-Control %q", csp, a.header.Get("Cache-Control"))
	}
	// Signing in from the 401's link comes back here.
	form := f.do(t, "GET", "/staff/sign-in?next=/status", nil, nil)
	in := f.do(t, "POST", "/staff/sign-in", url.Values{"csrf": {csrfOf(t, form)}, "token": {aliceToken}, "next": {"/status"}},
		[]*http.Cookie{cookieOf(t, form, signInCookie)})
	if in.status != http.StatusSeeOther || in.header.Get("Location") != "/status" {
		t.Fatalf("sign-in for the status page: %d to %q", in.status, in.header.Get("Location"))
	}
	page := f.do(t, "GET", "/status", nil, []*http.Cookie{cookieOf(t, in, sessionCookie)})
	if page.status != http.StatusOK || !strings.Contains(page.body, `action="/status/dead-letters/`+strconv.FormatInt(id, 10)+`/retry"`) {
		t.Errorf("signed in: %d, want the retry form\n%s", page.status, page.body)
	}
}

// TestStatusPageShowsTheReport shows what operators look for: the
// version and uptime, the lagging webhook inbox, the dead letter with its
// error and attempts, Stripe's traffic and Salesforce's usage over 80 %.
func TestStatusPageShowsTheReport(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:8080")
	f.plantDeadLetter(t)
	session, _ := f.signIn(t)
	page := f.do(t, "GET", "/status", nil, []*http.Cookie{session})
	for _, want := range []string{
		"Version <strong>v9.9.9</strong>, up 1h 30m",
		"1h 0m ago <strong class=\"bad\">lagging</strong>",
		"smtp: 550 mailbox unavailable", "1 of 1",
		"on events: 0 waiting, 1 dead", // the receipts job
		"90 (1.50/s)", "12.5 of 25.0 requests/s (slowed after 429s)",
		`<strong class="bad">8500 of 10000 (85.0 %)</strong>`,
		"No reconcile has run yet.",
		`<th scope="col">`,
	} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the page lacks %q:\n%s", want, page.body)
		}
	}
}

// TestStatusPageRetriesADeadLetter puts a dead letter back in the queue
// from its form; without the session's CSRF token, or without a session,
// the post is refused and the job stays dead. Drop deletes one.
func TestStatusPageRetriesADeadLetter(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:8080")
	id := f.plantDeadLetter(t)
	session, _ := f.signIn(t)
	page := f.do(t, "GET", "/status", nil, []*http.Cookie{session})
	retry := "/status/dead-letters/" + strconv.FormatInt(id, 10) + "/retry"
	for _, c := range []struct {
		form    url.Values
		cookies []*http.Cookie
	}{
		{url.Values{}, []*http.Cookie{session}},
		{url.Values{"csrf": {"forged"}}, []*http.Cookie{session}},
		{url.Values{"csrf": {csrfOf(t, page)}}, nil},
	} {
		if a := f.do(t, "POST", retry, c.form, c.cookies); a.status != http.StatusForbidden {
			t.Errorf("retry with csrf %q and %d cookies: %d, want 403", c.form.Get("csrf"), len(c.cookies), a.status)
		}
		if ids := f.deadIDs(t); len(ids) != 1 || ids[0] != id {
			t.Fatalf("a refused retry changed the dead letters: %v", ids)
		}
	}
	a := f.do(t, "POST", retry, url.Values{"csrf": {csrfOf(t, page)}}, []*http.Cookie{session})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/status" {
		t.Fatalf("retry: %d to %q", a.status, a.header.Get("Location"))
	}
	if ids := f.deadIDs(t); len(ids) != 0 {
		t.Errorf("after the retry the dead letters are %v", ids)
	}
	jobs, err := f.db.Claim(t.Context(), stripesync.JobSendReceipt, 10, time.Minute)
	if err != nil || len(jobs) != 1 || jobs[0].ID != id {
		t.Fatalf("after the retry the queue gives %v (%v), want job %d", jobs, err, id)
	}
	after := f.do(t, "GET", "/status", nil, []*http.Cookie{session, cookieOf(t, a, noticeCookie)})
	if !strings.Contains(after.body, "is back in the queue") || !strings.Contains(after.body, "No dead letters.") {
		t.Errorf("after the retry the page shows:\n%s", after.body)
	}
	// The job dies again and is dropped.
	if err := f.db.Fail(t.Context(), id, errors.New("smtp: 550 again"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	drop := "/status/dead-letters/" + strconv.FormatInt(id, 10) + "/drop"
	if a := f.do(t, "POST", drop, url.Values{"csrf": {csrfOf(t, page)}}, []*http.Cookie{session}); a.status != http.StatusSeeOther {
		t.Errorf("drop: %d", a.status)
	}
	if ids := f.deadIDs(t); len(ids) != 0 {
		t.Errorf("after the drop the dead letters are %v", ids)
	}
	if again := f.do(t, "POST", drop, url.Values{"csrf": {csrfOf(t, page)}}, []*http.Cookie{session}); again.status != http.StatusSeeOther {
		t.Errorf("a second drop: %d, want the page with the notice", again.status)
	}
}

// TestLegacySessionCookie: a browser still holding a session cookie of
// the earlier Path=/staff/, sent before the current one, is served by the
// current session, and signing in expires the old one.
func TestLegacySessionCookie(t *testing.T) {
	f := newFixture(t, "http://127.0.0.1:8080")
	form := f.do(t, "GET", "/staff/sign-in", nil, nil)
	in := f.do(t, "POST", "/staff/sign-in", url.Values{"csrf": {csrfOf(t, form)}, "token": {aliceToken}, "next": {"/status"}},
		[]*http.Cookie{cookieOf(t, form, signInCookie)})
	var cleared bool
	for _, c := range (&http.Response{Header: in.header}).Cookies() {
		cleared = cleared || (c.Name == sessionCookie && c.Path == "/staff/" && c.MaxAge < 0)
	}
	if !cleared {
		t.Errorf("sign-in does not expire the Path=/staff/ session cookie: %v", in.header["Set-Cookie"])
	}
	stale := &http.Cookie{Name: sessionCookie, Value: randomToken()}
	page := f.do(t, "GET", "/status", nil, []*http.Cookie{stale, cookieOf(t, in, sessionCookie)})
	if page.status != http.StatusOK || !strings.Contains(page.body, "Signed in as <strong>alice</strong>") {
		t.Errorf("with a stale cookie first: %d\n%s", page.status, page.body)
	}
}
