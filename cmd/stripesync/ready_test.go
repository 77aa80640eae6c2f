package main

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stripesync/stripesync/store/storetest"
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

	// /healthz answers before the ledger is open; poll past the wait.
	var status int
	var body map[string]any
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		status, body = getJSON(t, "http://"+d.addr+"/readyz")
		if body["reason"] != "waiting for the database" || time.Now().After(deadline) {
			break
		}
	}
	const want = "ledger not writable: attempt to write a readonly database"
	if reason, _ := body["reason"].(string); status != http.StatusServiceUnavailable || body["ready"] != false || !strings.HasPrefix(reason, want) {
		t.Errorf("GET /readyz = %d %v, want 503 with ready false and a reason starting %q\n%s", status, body, want, d.log.From(0))
	}
	if status, body := getJSON(t, "http://"+d.addr+"/healthz"); status != http.StatusOK {
		t.Errorf("GET /healthz = %d %v, want 200", status, body)
	}
}

// exitCode waits up to within for the daemon to exit and returns its exit
// code.
func (d *daemon) exitCode(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case err := <-d.done:
		d.done <- err // for stop
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return d.cmd.ProcessState.ExitCode()
	case <-time.After(within):
		t.Fatalf("serve still running after %s:\n%s", within, d.log.From(0))
	}
	return 0
}

// wantWaiting checks that the daemon is alive but not ready, waiting for
// its database.
func wantWaiting(t *testing.T, d *daemon) {
	t.Helper()
	if status, body := getJSON(t, "http://"+d.addr+"/healthz"); status != http.StatusOK {
		t.Errorf("GET /healthz while waiting = %d %v, want 200", status, body)
	}
	want := map[string]any{"ready": false, "reason": "waiting for the database"}
	status, body := getJSON(t, "http://"+d.addr+"/readyz")
	if diff := cmp.Diff(want, body); status != http.StatusServiceUnavailable || diff != "" {
		t.Errorf("GET /readyz while waiting = %d, want 503; body (-want +got):\n%s", status, diff)
	}
}

// TestServeGivesUpOnAnUnreachableDatabase: a Postgres nobody listens for
// is tried with backoff for STRIPESYNC_DB_WAIT, with /healthz up, and then
// serve exits 1 saying why, its log never showing the password.
func TestServeGivesUpOnAnUnreachableDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon")
	}
	const password = "db-password-never-logged"
	dbURL := "postgres://sync:" + password + "@" + freeAddr(t) + "/test?sslmode=disable"
	_, env := emulatorEnv(t, dbURL, 0)
	d := launchDaemon(t, append(env, "STRIPESYNC_DB_WAIT=3s"), nil)
	start := time.Now()
	d.waitFor(t, "/healthz", http.StatusOK, 10*time.Second)
	wantWaiting(t, d)

	if code := d.exitCode(t, 20*time.Second); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Errorf("serve gave up after %s, want about 3s", took)
	}
	log := d.log.From(0)
	if want := "the database is still unavailable after 3s (STRIPESYNC_DB_WAIT)"; !strings.Contains(log, want) {
		t.Errorf("log lacks %q:\n%s", want, log)
	}
	if strings.Contains(log, password) {
		t.Errorf("log shows the database password:\n%s", log)
	}
	// 250 ms doubling within 3 s: 4 retries, each logged once.
	if n := strings.Count(log, "database unavailable; trying again"); n < 2 || n > 5 {
		t.Errorf("%d retry warnings, want one per retry (about 4):\n%s", n, log)
	}
}

// TestServeWaitsForTheDatabase: the database comes up (here: a proxy to
// the test Postgres starts listening) while serve waits, and serve migrates
// it and becomes ready.
func TestServeWaitsForTheDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon")
	}
	u, err := url.Parse(storetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{addr: freeAddr(t), to: u.Host}
	t.Cleanup(p.close)
	u.Host = p.addr
	_, env := emulatorEnv(t, u.String(), 0)
	d := launchDaemon(t, append(env, "STRIPESYNC_DB_WAIT=60s"), nil)
	d.waitFor(t, "/healthz", http.StatusOK, 10*time.Second)
	wantWaiting(t, d)

	p.start(t)
	d.waitFor(t, "/readyz", http.StatusOK, 20*time.Second)
	if status, body := getJSON(t, "http://"+d.addr+"/readyz"); status != http.StatusOK || body["ready"] != true {
		t.Errorf("GET /readyz = %d %v, want 200 ready", status, body)
	}
	if log := d.log.From(0); !strings.Contains(log, "database unavailable; trying again") || !strings.Contains(log, "database available") {
		t.Errorf("log does not show the wait:\n%s", log)
	}
}

// tcpProxy forwards connections from addr to another address, once
// started: until then nothing listens on addr.
type tcpProxy struct {
	addr, to string
	mu       sync.Mutex
	ln       net.Listener
	conns    []net.Conn
}

func (p *tcpProxy) start(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.to)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

func (p *tcpProxy) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
	}
	for _, c := range p.conns {
		c.Close()
	}
}
