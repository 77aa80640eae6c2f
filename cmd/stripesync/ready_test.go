package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// getJSON fetches url and decodes its JSON body.
func getJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatalf("GET %s: body %q is not JSON: %v", url, b, err)
	}
	return resp.StatusCode, body
}

// TestServeOnAReadOnlyLedgerIsNotReady is the operator's SQLite file that
// the daemon's user may read but not write (wrong owner, mode 0444): serve
// starts, since an up-to-date ledger migrates without a write, and every
// webhook would fail. /readyz must say so, and why; /healthz must not, or
// the process would be restarted into the same state.
func TestServeOnAReadOnlyLedgerIsNotReady(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon")
	}
	// Not t.TempDir: its parent is private to this user, and the daemon
	// may run as another.
	dir, err := os.MkdirTemp("", "stripesync-readonly-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "ledger.db")
	dbURL := "sqlite:" + path
	if code := run(t.Context(), []string{"migrate"}, mapEnv(map[string]string{"STRIPESYNC_DATABASE_URL": dbURL, "STRIPESYNC_LOG_LEVEL": "error"}), io.Discard, io.Discard); code != 0 {
		t.Fatalf("migrate: exit %d", code)
	}
	// The directory stays writable, as it usually is: SQLite creates the
	// -wal and -shm files beside a read-only file and reads it in WAL mode.
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	_, env := emulatorEnv(t, dbURL, 0)
	env = append(env, "HOME="+dir)
	d := launchDaemon(t, env, func(cmd *exec.Cmd) {
		if os.Geteuid() != 0 {
			return
		}
		// Root writes whatever the mode says; an unprivileged user
		// (nobody) meets the mode as the operator's daemon does.
		if err := os.Chmod(filepath.Dir(binary), 0o755); err != nil {
			t.Fatal(err)
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	})
	d.waitFor(t, "/healthz", http.StatusOK, 20*time.Second)

	status, body := getJSON(t, "http://"+d.addr+"/readyz")
	const want = "ledger not writable: attempt to write a readonly database"
	if reason, _ := body["reason"].(string); status != http.StatusServiceUnavailable || body["ready"] != false || !strings.HasPrefix(reason, want) {
		t.Errorf("GET /readyz = %d %v, want 503 with ready false and a reason starting %q\n%s", status, body, want, d.log.From(0))
	}
	if status, body := getJSON(t, "http://"+d.addr+"/healthz"); status != http.StatusOK {
		t.Errorf("GET /healthz = %d %v, want 200", status, body)
	}
}
