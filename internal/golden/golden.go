// Package golden compares test output with files under testdata, and
// rewrites them when a test binary runs with -update (make golden). It is
// for tests only.
package golden

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Update is the -update flag: rewrite golden files instead of comparing.
var Update = flag.Bool("update", false, "rewrite the golden files under testdata from the current code")

// Check compares got with the file at path (relative to the test's package
// directory, e.g. "testdata/receipt-mail.golden.txt"), failing t with the
// first differing line when they differ; with -update it writes got there.
func Check(t testing.TB, path string, got []byte) {
	t.Helper()
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update, or make golden, to create it)", err)
	}
	if bytes.Equal(got, want) {
		return
	}
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range max(len(gl), len(wl)) {
		var g, w string
		if i < len(gl) {
			g = gl[i]
		}
		if i < len(wl) {
			w = wl[i]
		}
		if g != w {
			t.Errorf("%s differs from the current output at line %d:\n  want: %q\n  got:  %q\n(if the change is intended, run make golden and review the diff)", path, i+1, w, g)
			return
		}
	}
	t.Errorf("%s differs from the current output in its line ends (run make golden and review the diff)", path)
}
