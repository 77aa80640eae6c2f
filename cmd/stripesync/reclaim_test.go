package main

import (
	"bytes"
	"database/sql"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/crm/crmtest"
	"github.com/stripesync/stripesync/store/storetest"
)

// TestServeReclaimsWhatAKilledDaemonHeld kills a daemon with SIGKILL while
// it pushes a record (Salesforce hangs), which leaves the record's trigger
// leased for a minute. The next daemon proves the first one dead and pushes
// the record within seconds, not when the lease runs out.
func TestServeReclaimsWhatAKilledDaemonHeld(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon twice")
	}
	for _, d := range []struct {
		name string
		// open returns the database URL and the database/sql driver and
		// DSN that read the same database.
		open func(t *testing.T) (dbURL, driver, dsn string)
	}{
		{"sqlite", func(t *testing.T) (string, string, string) {
			path := filepath.Join(t.TempDir(), "ledger.db")
			return "sqlite:" + path, "sqlite", path
		}},
		{"postgres", func(t *testing.T) (string, string, string) {
			u := storetest.PostgresURL(t)
			return u, "postgres", u
		}},
	} {
		t.Run(d.name, func(t *testing.T) {
			dbURL, driver, dsn := d.open(t)
			emu, env := emulatorEnv(t, dbURL, 0)
			acct := emu.sf.Insert("Account", map[string]any{"Name": "Before"})
			listen := freeAddr(t)
			env = append(env, "STRIPESYNC_LISTEN="+listen, "STRIPESYNC_TRIGGER_SECRET=serve-trigger-secret-0123",
				// No scheduled push may do the trigger's work.
				"STRIPESYNC_ACCOUNT_SYNC_EVERY=24h")
			cmd := exec.CommandContext(t.Context(), binary, "sync", "accounts")
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("sync accounts: %v\n%s", err, out)
			}

			first, firstLog := startServe(t, env, listen)
			emu.sf.AddOutbound(crmtest.OutboundConfig{
				URL: "http://" + listen + "/salesforce/outbound/serve-trigger-secret-0123", Object: stripesync.ObjectAccount,
				OnWrite: true, RetryBase: 20 * time.Millisecond,
			})
			emu.sf.SetLatency(time.Hour)
			emu.sf.Update("Account", acct, map[string]any{"Name": "After"})
			ledger, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer ledger.Close()
			waitOrLog(t, 10*time.Second, "the first daemon to claim the trigger", func() bool {
				var n int
				err := ledger.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM pending_triggers WHERE locked_until IS NOT NULL").Scan(&n)
				return err == nil && n == 1
			}, firstLog)
			if err := first.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = first.Wait()

			emu.sf.SetLatency(0)
			restarted := time.Now()
			second, secondLog := startServe(t, env, listen)
			waitOrLog(t, 10*time.Second, "the edit to reach Stripe", func() bool {
				c := emu.st.CustomersWithMetadata(stripesync.MetadataAccountID, acct)
				return len(c) == 1 && c[0].Name == "After"
			}, secondLog)
			t.Logf("pushed %v after the restart (the trigger's lease is 1 minute)", time.Since(restarted).Round(time.Millisecond))
			if d.name == "sqlite" {
				// The lock that proves the first daemon dead also keeps a
				// second one off the file.
				// (On an address of its own: serve listens before it
				// opens the database.)
				third := exec.CommandContext(t.Context(), binary, "serve")
				third.Env = append(slices.Clone(env), "STRIPESYNC_LISTEN="+freeAddr(t))
				out, err := third.CombinedOutput()
				if want := "another stripesync serve is using this database"; err == nil || !strings.Contains(string(out), want) {
					t.Errorf("a second serve on the file = %v, want a failure saying %q:\n%s", err, want, out)
				}
			}
			if err := second.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if err := second.Wait(); err != nil {
				t.Errorf("serve exited with %v after SIGTERM", err)
			}
			if want := `msg="reclaimed the leases of dead processes" jobs=0 events=0 triggers=1`; !strings.Contains(secondLog.String(), want) {
				t.Errorf("the restarted daemon's log does not say %q:\n%s", want, secondLog)
			}
		})
	}
}

// startServe starts the daemon with env and waits until it is ready on
// listen. The process is killed when the test ends, if it still runs.
func startServe(t *testing.T, env []string, listen string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	var log bytes.Buffer
	cmd := exec.Command(binary, "serve")
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	waitReady(t, "http://"+listen+"/readyz", &log)
	return cmd, &log
}

// waitOrLog polls done until it is true, or fails the test after timeout
// with the daemon's log.
func waitOrLog(t *testing.T, timeout time.Duration, what string, done func() bool, log *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; daemon log:\n%s", timeout, what, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
