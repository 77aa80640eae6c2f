package sync_test

import (
	"strings"
	"testing"
	"time"

	syncer "github.com/stripesync/stripesync/sync"
)

// TestEachRefundIsAnnouncedOnce refunds a paid invoice's payment twice:
// the customer gets one notice per refund, with what came back and what is
// left, and a pull that reads the same refunds again sends nothing more.
func TestEachRefundIsAnnouncedOnce(t *testing.T) {
	w := newPayWorld(t)
	inv := w.invoice(t, "INV-3101", "50.00", "USD")
	pi := w.pay(t, inv, 5000, "usd", "pm_card_visa")
	eventually(t, "Paid", func() bool { return w.crmInvoice(t, inv).Status == "Paid" })

	notices := func() []string {
		var out []string
		for _, m := range w.mail.Messages() {
			if strings.HasPrefix(m.Subject, "Refund of") {
				out = append(out, m.Subject+"\n"+m.Text)
			}
		}
		return out
	}
	if err := w.st.Refund(pi, 1000); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the first refund's notice", func() bool { return len(notices()) == 1 })
	first := notices()[0]
	for _, want := range []string{"Refund of 10.00 USD on invoice INV-3101", "Refunded:        10.00 USD", "Amount paid:     50.00 USD",
		"Refunded to:     Visa •••• 4242", "Balance now:     10.00 USD", "Receipt number:  R-"} {
		if !strings.Contains(first, want) {
			t.Errorf("the refund notice lacks %q:\n%s", want, first)
		}
	}
	if err := w.st.Refund(pi, 500); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the second refund's notice", func() bool { return len(notices()) == 2 })
	if second := notices()[1]; !strings.Contains(second, "Refunded:        15.00 USD") || !strings.Contains(second, "Balance now:     15.00 USD") {
		t.Errorf("the second notice:\n%s", second)
	}
	if _, err := w.engine.PullPayments(t.Context(), syncer.PullOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // beyond the workers' idle poll
	if n := len(notices()); n != 2 {
		t.Errorf("%d refund notices after the pull read the refunds again, want 2", n)
	}
}
