package browsertest_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/stripesync/stripesync/internal/browsertest"
)

// goodPage passes every check of Audit: labels of all three kinds, one
// h1, alt on images, dark text, large text at 3:1, and a hidden input and
// submit button that need no label.
const goodPage = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Pay invoice INV-1001</title>
<style>
body { font-family: sans-serif; color: #222; background: #fff; }
.banner { background: #0b3d91; color: #fff; padding: 8px; }
.big { font-size: 24px; color: #888; }
.veil { background: rgba(0, 0, 0, 0.05); }
</style></head>
<body>
<div class="banner">Acme Ltd</div>
<h1>Invoice INV-1001</h1>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="">
<p class="big">Balance due $250.00</p>
<form>
  <input type="hidden" name="token" value="t">
  <label for="email">E-mail</label> <input id="email" name="email" type="email">
  <label>Amount <input id="amount" name="amount" inputmode="decimal"></label>
  <span id="method-label">Method</span>
  <select id="method" aria-labelledby="method-label"><option>Card</option><option>Bank account</option></select>
  <textarea name="note" aria-label="Note to the business"></textarea>
  <p class="veil">Partial payments are allowed.</p>
  <button id="pay" type="submit">Pay now</button>
</form>
</body></html>`

// badPage fails each check once, on a known element.
const badPage = `<!doctype html>
<html>
<head><meta charset="utf-8"><title>Bad</title>
<style>
body { color: #222; background: #fff; }
.faint { color: #777; }
.dim { background: rgba(0, 0, 0, 0.5); color: #fff; }
</style></head>
<body>
<h1>One</h1>
<h1>Two</h1>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<form>
  <label for="other"></label><input id="unlabelled" name="unlabelled">
  <input type="submit" value="Go">
</form>
<p class="faint">Grey on white</p>
<p class="dim">White on half-black over white</p>
<p style="display:none" class="faint">Hidden, so not judged</p>
</body></html>`

func serve(t *testing.T, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestGoodPagePasses(t *testing.T) {
	t.Setenv(browsertest.EnvArtefacts, t.TempDir())
	ctx := browsertest.New(t)
	browsertest.Open(t, ctx, serve(t, goodPage))

	problems, err := browsertest.Audit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) != 0 {
		t.Errorf("Audit(good page) = %q, want none", problems)
	}
	browsertest.AssertAccessible(t, ctx)

	got := browsertest.FocusOrder(t, ctx, 6)
	want := []string{"#email", "#amount", "#method", "name=note", "#pay", "body"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FocusOrder (-want +got):\n%s", diff)
	}

	path := browsertest.Screenshot(t, ctx, "good page")
	if filepath.Dir(path) != os.Getenv(browsertest.EnvArtefacts) || !strings.HasSuffix(path, "TestGoodPagePasses--good_page.png") {
		t.Errorf("Screenshot path = %s, want TestGoodPagePasses--good_page.png in %s", path, os.Getenv(browsertest.EnvArtefacts))
	}
	png, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 1000 {
		t.Errorf("Screenshot wrote %d bytes starting %q, want a PNG of the page", len(png), png[:min(8, len(png))])
	}
}

func TestBadPageFailsEachCheck(t *testing.T) {
	ctx := browsertest.New(t)
	browsertest.Open(t, ctx, serve(t, badPage))

	problems, err := browsertest.Audit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.Check+" "+p.Element)
		t.Logf("%s", p)
	}
	want := []string{
		browsertest.CheckLabel + " input#unlabelled",
		browsertest.CheckLang + " html",
		browsertest.CheckHeading + " h1 \"Two\"",
		browsertest.CheckAlt + " img",
		browsertest.CheckContrast + " p.faint",
		browsertest.CheckContrast + " p.dim",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Audit(bad page) checks (-want +got):\n%s", diff)
	}
	for _, p := range problems {
		if p.Check == browsertest.CheckContrast && !strings.Contains(p.Detail, "want at least 4.5:1") {
			t.Errorf("contrast detail %q does not give the threshold", p.Detail)
		}
	}
	// #777 on white is 4.48:1, just under AA.
	if i := slices.IndexFunc(problems, func(p browsertest.Problem) bool { return p.Element == "p.faint" }); i < 0 || !strings.Contains(problems[i].Detail, "contrast 4.48:1") {
		t.Errorf("p.faint problem = %+v, want contrast 4.48:1", problems)
	}
}

func TestFindChromiumHonoursTheVariable(t *testing.T) {
	t.Setenv(browsertest.EnvChromium, "/nonexistent")
	if path, err := browsertest.FindChromium(); err == nil || !strings.Contains(err.Error(), "/nonexistent") {
		t.Errorf("FindChromium() = %q, %v; want an error naming /nonexistent", path, err)
	}
}

func TestArtefactDirDefaultsToTheModuleRoot(t *testing.T) {
	t.Setenv(browsertest.EnvArtefacts, "")
	dir, err := browsertest.ArtefactDir()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(filepath.Dir(filepath.Dir(dir)))
	if filepath.Base(dir) != "screenshots" || filepath.Base(filepath.Dir(dir)) != "artefacts" {
		t.Errorf("ArtefactDir() = %s, want <module root>/artefacts/screenshots", dir)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(filepath.Dir(dir)), "go.mod")); err != nil {
		t.Errorf("ArtefactDir() = %s is not under the module root (%s): %v", dir, root, err)
	}
}

// TestMissingBrowser runs TestHelperNeedsBrowser in a child process with no
// browser to find: it must skip with a message saying why and what to do,
// and fail instead when STRIPESYNC_REQUIRE_BROWSER is set.
func TestMissingBrowser(t *testing.T) {
	if os.Getenv("BROWSERTEST_HELPER") != "" {
		t.Skip("in the helper process")
	}
	for _, tt := range []struct {
		require  string
		wantFail bool
		want     []string
	}{
		{"", false, []string{"--- SKIP: TestHelperNeedsBrowser", "STRIPESYNC_CHROMIUM=/nonexistent", "apt-get install -y chromium", "skipped because STRIPESYNC_REQUIRE_BROWSER is unset"}},
		{"1", true, []string{"--- FAIL: TestHelperNeedsBrowser", "STRIPESYNC_CHROMIUM=/nonexistent", "STRIPESYNC_REQUIRE_BROWSER is set, so a browser test may not be skipped"}},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperNeedsBrowser$", "-test.v")
		cmd.Env = append(os.Environ(), "BROWSERTEST_HELPER=1", browsertest.EnvChromium+"=/nonexistent", browsertest.EnvRequire+"="+tt.require)
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != tt.wantFail {
			t.Errorf("%s=%q: helper failed = %t (%v), want %t\n%s", browsertest.EnvRequire, tt.require, failed, err, tt.wantFail, out)
		}
		for _, w := range tt.want {
			if !bytes.Contains(out, []byte(w)) {
				t.Errorf("%s=%q: output lacks %q:\n%s", browsertest.EnvRequire, tt.require, w, out)
			}
		}
	}
}

// TestHelperNeedsBrowser is run by TestMissingBrowser only.
func TestHelperNeedsBrowser(t *testing.T) {
	if os.Getenv("BROWSERTEST_HELPER") == "" {
		t.Skip("run by TestMissingBrowser")
	}
	browsertest.New(t)
	t.Error("New returned without a browser")
}
