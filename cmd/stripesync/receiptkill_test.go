package main

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/receipts/smtptest"
	"github.com/stripesync/stripesync/store/storetest"
	"github.com/stripesync/stripesync/stripeclient/stripetest"
)

// TestKillingServeWhileItMailsReceipts kills the daemon with SIGKILL 20
// times while it mails receipts to a slow SMTP server, which keeps it
// inside each conversation for a while, so that many kills land there.
// After each kill a new daemon must deliver mail again within 10 s (it
// reclaims what the dead one held rather than wait out the 2-minute
// receipt lease), every receipt must arrive, and a receipt may arrive
// twice only when a kill came while the connection that carried its
// earlier copy was open: a process that dies inside the SMTP conversation
// cannot know whether the server kept the message. Every copy carries the
// receipt's Message-ID, which a mail system can de-duplicate by.
func TestKillingServeWhileItMailsReceipts(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon 21 times")
	}
	for _, d := range []struct {
		name string
		url  func(t testing.TB) string
	}{
		{"sqlite", func(t testing.TB) string { return "sqlite:" + filepath.Join(t.TempDir(), "ledger.db") }},
		{"postgres", storetest.PostgresURL},
	} {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			killWhileMailing(t, d.url(t))
		})
	}
}

func killWhileMailing(t *testing.T, dbURL string) {
	const (
		payments = 150
		kills    = 20
		recovery = 10 * time.Second
	)
	emu, env := emulatorEnv(t, dbURL, 0)
	mail := smtptest.NewServer(t, smtptest.Options{ReplyDelay: 80 * time.Millisecond})
	listen := freeAddr(t)
	env = append(env, "STRIPESYNC_LISTEN="+listen, "STRIPESYNC_PUBLIC_URL=http://"+listen,
		"STRIPESYNC_SMTP_URL="+mail.URL(), "STRIPESYNC_MAIL_FROM=billing@seller.test",
		"STRIPESYNC_SIGNING_KEY=kill-test-signing-key-0123456789abcdef", "STRIPESYNC_BUSINESS_NAME=Seller Supplies",
		"STRIPESYNC_ACCOUNT_SYNC_EVERY=24h", "STRIPESYNC_PAYMENT_SYNC_EVERY=1s")
	acct := emu.sf.Insert("Account", map[string]any{"Name": "Initech", "Billing_Email__c": "ap@initech.test"})
	inv := emu.sf.Insert("Invoice__c", map[string]any{"Name": "INV-7001", "Account__c": acct,
		"Amount__c": "1000.00", "CurrencyIsoCode": "USD", "Status__c": "Open"})
	push := exec.CommandContext(t.Context(), binary, "sync", "accounts")
	push.Env = env
	if out, err := push.CombinedOutput(); err != nil {
		t.Fatalf("sync accounts: %v\n%s", err, out)
	}
	custs := emu.st.CustomersWithMetadata(stripesync.MetadataAccountID, acct)
	if len(custs) != 1 {
		t.Fatalf("%d customers for the account, want 1", len(custs))
	}
	// Paid before the daemon starts: its payment pull records them all
	// and queues their receipts.
	for range payments {
		if _, err := emu.st.Pay(stripetest.PayParams{Customer: custs[0].ID, Amount: 100, Currency: "usd",
			Metadata: map[string]string{stripesync.MetadataInvoiceID: inv}}); err != nil {
			t.Fatal(err)
		}
	}

	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, 0))
	var killedAt []time.Time
	var slowest time.Duration
	for i := 0; ; i++ {
		before := len(mail.Messages())
		daemon, log := startServe(t, env, listen)
		// Recovery: this daemon delivers mail again.
		waitOrLog(t, recovery, fmt.Sprintf("daemon %d to deliver a receipt", i+1), func() bool {
			return len(mail.Messages()) > before
		}, log)
		if i > 0 {
			slowest = max(slowest, time.Since(killedAt[i-1]))
		}
		if i == kills {
			waitOrLog(t, 2*time.Minute, "every receipt to be mailed", func() bool {
				return len(distinctIDs(mail.Messages())) == payments
			}, log)
			if err := daemon.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if err := daemon.Wait(); err != nil {
				t.Errorf("serve exited with %v after SIGTERM:\n%s", err, log)
			}
			break
		}
		time.Sleep(time.Duration(rng.Int64N(int64(300 * time.Millisecond))))
		killedAt = append(killedAt, time.Now())
		if err := daemon.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = daemon.Wait()
	}

	if slowest >= recovery {
		t.Errorf("the slowest recovery, from a kill to the next receipt delivered, took %v; want under %v", slowest, recovery)
	}
	msgs := mail.Messages()
	copies := map[string][]smtptest.Message{}
	for _, m := range msgs {
		copies[m.MessageID] = append(copies[m.MessageID], m)
	}
	if len(copies) != payments {
		t.Errorf("%d distinct receipts mailed, want %d", len(copies), payments)
	}
	inside, twice := 0, 0
	for _, k := range killedAt {
		for _, m := range msgs {
			if openAt(m, k) {
				inside++
				break
			}
		}
	}
	for id, cs := range copies {
		if len(cs) == 1 {
			continue
		}
		twice++
		for _, c := range cs[:len(cs)-1] {
			killed := false
			for _, k := range killedAt {
				killed = killed || openAt(c, k)
			}
			if !killed {
				t.Errorf("receipt %s was mailed %d times, and its copy on connection %d (open %v–%v) was not cut by a kill",
					id, len(cs), c.Session, c.Connected.Format(time.StampMicro), c.Disconnected.Format(time.StampMicro))
			}
		}
	}
	if n := emu.sf.Count("Payment__c"); n != payments {
		t.Errorf("the CRM has %d Payment__c records, want %d", n, payments)
	}
	t.Logf("seed %d: %d kills, %d of them inside an SMTP conversation; %d messages for %d receipts, %d mailed twice; slowest recovery %v",
		seed, len(killedAt), inside, len(msgs), len(copies), twice, slowest.Round(time.Millisecond))
}

// openAt reports whether the connection that carried m was open at t.
func openAt(m smtptest.Message, t time.Time) bool {
	return !m.Connected.After(t) && (m.Disconnected.IsZero() || !m.Disconnected.Before(t))
}

// distinctIDs returns the Message-IDs among msgs.
func distinctIDs(msgs []smtptest.Message) map[string]bool {
	ids := map[string]bool{}
	for _, m := range msgs {
		ids[m.MessageID] = true
	}
	return ids
}
