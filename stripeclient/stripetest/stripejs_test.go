package stripetest

import (
	"context"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/stripesync/stripesync/internal/browsertest"
)

// cardPage is a page like the staff console's: it loads Stripe.js from the
// emulator (another origin), mounts a card element and shows the
// PaymentMethod it makes, or the error. ?element=payment uses the Payment
// Element and createPaymentMethod({elements, params}) instead.
var cardPage = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Take a card payment</title>
<script src="{{.Emulator}}/v3/"></script></head>
<body><main>
<h1>Take a card payment</h1>
<form id="pay" method="post" action="/charge">
  <label for="name">Name on card</label>
  <input id="name" name="name" value="Jane Doe">
  <div id="card"></div>
  <button id="submit" type="submit">Save card</button>
</form>
<p id="result" role="status"></p>
<script>
var stripe = Stripe({{.Key}});
var elements = stripe.elements();
var kind = {{.Element}};
var card = elements.create(kind);
card.mount('#card');
var complete = false;
card.on('change', function (e) { complete = e.complete; });
document.getElementById('pay').addEventListener('submit', function (ev) {
  ev.preventDefault();
  var billing = {name: document.getElementById('name').value};
  var made = kind === 'payment'
    ? elements.submit().then(function (r) {
        return r.error ? r : stripe.createPaymentMethod({elements: elements, params: {billing_details: billing}});
      })
    : stripe.createPaymentMethod({type: 'card', card: card, billing_details: billing});
  made.then(function (r) {
    var out = document.getElementById('result');
    out.textContent = r.error ? r.error.message
      : r.paymentMethod.id + ' ' + r.paymentMethod.card.brand + ' ' + r.paymentMethod.card.last4 + (complete ? ' complete' : '');
    out.dataset.done = 'yes';
  });
});
</script>
</main></body></html>`))

// TestStripeJSInChromium types cards into the stand-in's element in a real
// browser: a good card becomes a PaymentMethod in the emulator, a bad one
// shows Stripe's message, and the page's own server never sees a number.
func TestStripeJSInChromium(t *testing.T) {
	s := NewServer(t, Options{})
	var mu sync.Mutex
	var seen strings.Builder // everything the page's server received
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen.WriteString(r.Method + " " + r.URL.String() + "\n" + string(body) + "\n")
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		element := r.URL.Query().Get("element")
		if element == "" {
			element = "card"
		}
		if err := cardPage.Execute(w, map[string]string{"Emulator": s.URL(), "Key": s.PublishableKey(), "Element": element}); err != nil {
			t.Error(err)
		}
	}))
	t.Cleanup(page.Close)
	ctx := browsertest.New(t)

	pay := func(t *testing.T, url, number string) string {
		t.Helper()
		browsertest.Open(t, ctx, url)
		do(t, ctx, "type the card",
			chromedp.WaitVisible(chromedp.CSS(`#card input[autocomplete=cc-number]`)),
			chromedp.SendKeys(chromedp.CSS(`#card input[autocomplete=cc-number]`), number),
			chromedp.SendKeys(chromedp.CSS(`#card input[autocomplete=cc-exp]`), "12/34"),
			chromedp.SendKeys(chromedp.CSS(`#card input[autocomplete=cc-csc]`), "123"),
			chromedp.Click(chromedp.CSS("#submit")),
			chromedp.WaitVisible(chromedp.CSS(`#result[data-done=yes]`)),
		)
		return run(t, ctx, "read the result", chromedp.Text(chromedp.CSS("#result")))
	}

	t.Run("card element", func(t *testing.T) {
		got := pay(t, page.URL, "4242 4242 4242 4242")
		if shown := run(t, ctx, "read the number field", chromedp.Value(chromedp.CSS(`#card input[autocomplete=cc-number]`))); shown != "4242 4242 4242 4242" {
			t.Errorf("the number field shows %q, want it grouped in fours", shown)
		}
		browsertest.Screenshot(t, ctx, "card-element")
		browsertest.AssertAccessible(t, ctx)
		id, rest, _ := strings.Cut(got, " ")
		if rest != "visa 4242 complete" {
			t.Fatalf("the page shows %q, want a pm_ id, visa 4242, complete", got)
		}
		s.mu.Lock()
		pm, ok := s.pay.methods[id]
		s.mu.Unlock()
		if !ok || pm.method.brand != "visa" || pm.method.last4 != "4242" || pm.name != "Jane Doe" || pm.expYear != 2034 {
			t.Errorf("the emulator holds %s as %+v", id, pm)
		}
	})

	t.Run("payment element", func(t *testing.T) {
		got := pay(t, page.URL+"?element=payment", "5555555555554444")
		if _, rest, _ := strings.Cut(got, " "); rest != "mastercard 4444 complete" {
			t.Errorf("the page shows %q, want a pm_ id, mastercard 4444", got)
		}
	})

	t.Run("bad numbers", func(t *testing.T) {
		// A live card is refused by the API, with Stripe's message.
		if got := pay(t, page.URL, "4111 1111 1111 1111"); !strings.HasPrefix(got, "Your card was declined. Your request was in test mode, but used a non test card.") {
			t.Errorf("a live card shows %q", got)
		}
		browsertest.Screenshot(t, ctx, "live-card")
		// A mistyped one is refused in the page, as Elements does.
		if got := pay(t, page.URL, "4242 4242 4242 4241"); got != "Your card number is invalid." {
			t.Errorf("a mistyped card shows %q", got)
		}
	})

	mu.Lock()
	defer mu.Unlock()
	for _, digits := range []string{"4242", "4444", "1111"} {
		if strings.Contains(seen.String(), digits) {
			t.Errorf("the page's server received card digits %s:\n%s", digits, seen.String())
		}
	}
}

// do runs browser actions with a timeout, failing the test on an error.
func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// run runs one browser action that returns a value.
func run[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}
