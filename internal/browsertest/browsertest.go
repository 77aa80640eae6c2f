// Package browsertest runs tests of the daemon's pages (the pay page, the
// portal) in a real headless Chromium driven by chromedp. It is test
// support only: import it from _test.go files in web/ and cmd/stripesync.
//
// [New] starts one browser for a test and stops it when the test ends. When
// Chromium is not installed the test is skipped, with a message saying how
// to install it; when STRIPESYNC_REQUIRE_BROWSER is set (CI sets it), it
// fails instead, so that a browser test never passes by not running.
//
// [Screenshot] keeps a full-page PNG of what the test saw, [Audit] and
// [AssertAccessible] check the current page for the basic accessibility
// problems listed at [Audit], and [FocusOrder] reports where the Tab key
// takes the keyboard focus.
//
// The environment:
//
//	STRIPESYNC_CHROMIUM         the browser to run, instead of the first of
//	                            chromium, chromium-browser, google-chrome on PATH
//	STRIPESYNC_REQUIRE_BROWSER  non-empty: a missing browser fails the test
//	STRIPESYNC_ARTEFACTS        where screenshots go; default
//	                            <module root>/artefacts/screenshots (gitignored)
package browsertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// The environment variables this package reads.
const (
	EnvChromium  = "STRIPESYNC_CHROMIUM"
	EnvRequire   = "STRIPESYNC_REQUIRE_BROWSER"
	EnvArtefacts = "STRIPESYNC_ARTEFACTS"
)

// Candidates are the names looked up on PATH, in order, when
// STRIPESYNC_CHROMIUM is unset.
var Candidates = []string{"chromium", "chromium-browser", "google-chrome"}

// Flags are the command-line switches Chromium runs with, and the only
// ones besides the fresh --user-data-dir and the DevTools pipe that chromedp
// adds: headless, no sandbox (tests run as root in CI containers), and
// nothing that reaches the network on its own.
var Flags = []string{
	"headless",
	"no-sandbox",
	"disable-gpu",
	"disable-background-networking",
	"disable-component-update",
	"disable-sync",
	"no-first-run",
	"disable-quic",
}

// actionTimeout bounds each helper of this package. A page served by an
// httptest server loads in milliseconds; a hung browser must not hold the
// test until the go test timeout.
const actionTimeout = 30 * time.Second

// ErrNoChromium is returned by [FindChromium] when no browser is found.
var ErrNoChromium = errors.New("browsertest: Chromium not found")

// FindChromium returns the path of the browser to run: STRIPESYNC_CHROMIUM
// when it is set (and nothing else then), or else the first of
// [Candidates] on PATH. The error wraps [ErrNoChromium].
func FindChromium() (string, error) {
	if p := os.Getenv(EnvChromium); p != "" {
		path, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("%w: %s=%s: %v", ErrNoChromium, EnvChromium, p, err)
		}
		return path, nil
	}
	for _, name := range Candidates {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", fmt.Errorf("%w: none of %s is on PATH and %s is unset", ErrNoChromium, strings.Join(Candidates, ", "), EnvChromium)
}

// allocatorOptions are the chromedp options for the browser at path:
// exactly [Flags]. chromedp adds --remote-debugging-pipe, about:blank and a
// fresh --user-data-dir under the temporary directory, which it removes
// when the browser exits.
func allocatorOptions(path string) []chromedp.ExecAllocatorOption {
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(path)}
	for _, f := range Flags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	return opts
}

// New starts Chromium for the test and returns a chromedp context whose
// tab is open on about:blank. The browser stops, and its profile directory
// is removed, when the test and its subtests end.
//
// Without Chromium the test is skipped, or fails when
// STRIPESYNC_REQUIRE_BROWSER is set. A browser that is found but does not
// start always fails the test.
//
// Each call starts its own browser (about half a second); tests that call
// it can run in parallel. Derive timeouts from the returned context with
// context.WithTimeout, never for the context itself: its first use already
// happened here.
func New(t testing.TB) context.Context {
	t.Helper()
	path, err := FindChromium()
	if err != nil {
		msg := fmt.Sprintf("%v; install it (apt-get install -y chromium) or set %s to its path", err, EnvChromium)
		if os.Getenv(EnvRequire) != "" {
			t.Fatalf("%s (%s is set, so a browser test may not be skipped)", msg, EnvRequire)
		}
		t.Skipf("%s; skipped because %s is unset", msg, EnvRequire)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), allocatorOptions(path)...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()      // closes the browser
		cancelAlloc() // waits for it to exit and its profile to be removed
	})
	// The first run starts the browser; with no timeout, as chromedp
	// requires, but bounded by a watchdog, so a browser that hangs on
	// start fails the test instead of holding it.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err = <-started:
	case <-time.After(actionTimeout):
		cancel()
		err = fmt.Errorf("no answer within %v", actionTimeout)
	}
	if err != nil {
		t.Fatalf("browsertest: start %s: %v", path, err)
	}
	return ctx
}

// run runs the action with the package's timeout and fails the test on an
// error.
func run[T any](t testing.TB, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browsertest: %s: %v", what, err)
	}
	return v
}

// Open loads url in the tab of ctx and waits for it to load; an error
// (including a refused connection) fails the test.
func Open(t testing.TB, ctx context.Context, url string) {
	t.Helper()
	run(t, ctx, "open "+url, chromedp.Navigate(url))
}

// ArtefactDir is where [Screenshot] writes: STRIPESYNC_ARTEFACTS when it is
// set, or else artefacts/screenshots in the module root (the nearest
// directory above the working directory, which go test sets to the
// package's, that holds a go.mod).
func ArtefactDir() (string, error) {
	if dir := os.Getenv(EnvArtefacts); dir != "" {
		return dir, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "artefacts", "screenshots"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("browsertest: no go.mod above the working directory; set %s", EnvArtefacts)
		}
		dir = parent
	}
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// Screenshot writes a full-page PNG of the tab of ctx to
// [ArtefactDir]/<test name>--<name>.png, logs its path and returns it.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	png := run(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	dir, err := ArtefactDir()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("browsertest: screenshot: %v", err)
	}
	file := unsafeName.ReplaceAllString(t.Name(), "_") + "--" + unsafeName.ReplaceAllString(name, "_") + ".png"
	path := filepath.Join(dir, file)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("browsertest: screenshot: %v", err)
	}
	t.Logf("screenshot %s", path)
	return path
}

// FocusOrder presses Tab n times in the tab of ctx and returns, for each
// press, the element that has the focus then: "#id" when it has an id, else
// "name=<name>" when it has a name, else its tag and text
// (`a "Pay now"`), or "body" when the focus left the page's controls. It
// starts from wherever the focus is, which right after [Open] is the top of
// the page.
func FocusOrder(t testing.TB, ctx context.Context, n int) []string {
	t.Helper()
	var order []string
	for i := range n {
		run(t, ctx, "press Tab", chromedp.KeyEvent(kb.Tab))
		order = append(order, run(t, ctx, fmt.Sprintf("focused element after Tab %d", i+1), chromedp.Evaluate[string](focusedJS)))
	}
	return order
}

const focusedJS = `(() => {
	const el = document.activeElement;
	if (!el || el === document.body || el === document.documentElement) return "body";
	if (el.id) return "#" + el.id;
	const name = el.getAttribute("name");
	if (name) return "name=" + name;
	const text = (el.innerText || el.value || "").trim().replace(/\s+/g, " ").slice(0, 40);
	return el.tagName.toLowerCase() + (text ? " " + JSON.stringify(text) : "");
})()`
