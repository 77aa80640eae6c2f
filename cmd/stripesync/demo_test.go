package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stripesync/stripesync/receipts/smtptest"
)

// receiptLink is the download link a receipt e-mail's text part ends with.
var receiptLink = regexp.MustCompile(`download this receipt at (\S+)`)

// TestDemoEmailsOpenTheirReceipts runs the serving demo as a user would,
// then follows the download link in every receipt it mailed: each must
// name the address the daemon listens on and return the very PDF the
// message carries.
func TestDemoEmailsOpenTheirReceipts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo")
	}
	addr, err := freeLoopbackAddr()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, "demo")
	cmd.Dir = t.TempDir()
	cmd.Env = []string{"HOME=" + cmd.Dir, "TMPDIR=" + cmd.Dir, "STRIPESYNC_LISTEN=" + addr}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The walkthrough ends with "Press Ctrl-C to stop." while the daemon
	// keeps serving; everything it mailed is in the demo folder by then.
	var out strings.Builder
	folder := ""
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		line := lines.Text()
		out.WriteString(line + "\n")
		if f, ok := strings.CutPrefix(line, "Demo folder: "); ok {
			folder = f
		}
		if strings.HasPrefix(line, "Press Ctrl-C") {
			break
		}
	}
	if folder == "" || !strings.Contains(out.String(), "The daemon is serving on http://"+addr) {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("the demo did not reach its serving state on %s:\n%s\nstderr:\n%s", addr, out.String(), stderr.String())
	}
	go io.Copy(io.Discard, stdout)

	emls, _ := filepath.Glob(filepath.Join(folder, "mail", "*.eml"))
	receipts := 0
	for _, path := range emls {
		msg, err := smtptest.ReadFile(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		m := receiptLink.FindStringSubmatch(msg.Text)
		if m == nil {
			continue
		}
		receipts++
		link := m[1]
		if !strings.HasPrefix(link, "http://"+addr+"/receipts/") {
			t.Errorf("%s (%q) links to %s, not to the daemon on %s", filepath.Base(path), msg.Subject, link, addr)
			continue
		}
		if len(msg.Attachments) != 1 {
			t.Errorf("%s carries %d attachments, want the receipt PDF", filepath.Base(path), len(msg.Attachments))
			continue
		}
		body, ctype := get(t, link)
		if ctype != "application/pdf" || !bytes.Equal(body, msg.Attachments[0].Data) {
			t.Errorf("%s: %s returned %s, %d bytes; want the %d-byte PDF the message carries",
				filepath.Base(path), link, ctype, len(body), len(msg.Attachments[0].Data))
		}
	}
	// Six invoice payments and the pay page's two.
	if receipts != 8 {
		t.Errorf("found %d receipt e-mails with a download link among %d messages, want 8", receipts, len(emls))
	}

	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("demo after Ctrl-C: %v\nstderr:\n%s", err, stderr.String())
	}
}

// get fetches url and returns its body and media type, failing the test
// unless the answer is 200.
func get(t *testing.T, url string) ([]byte, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s\n%s", url, resp.Status, body)
	}
	ctype, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	return body, ctype
}
