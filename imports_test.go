package stripesync_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// emulators are the packages that stand in for Stripe, Salesforce and an
// SMTP server. They accept any credentials and keep everything in memory,
// so the daemon must never reach them by accident: only tests, the demo and
// the emulate command may import them.
var emulators = map[string]bool{
	"github.com/stripesync/stripesync/crm/crmtest":             true,
	"github.com/stripesync/stripesync/stripeclient/stripetest": true,
	"github.com/stripesync/stripesync/receipts/smtptest":       true,
}

// emulatorImporters are the non-test files allowed to import them.
var emulatorImporters = map[string]bool{
	"cmd/stripesync/demo.go":     true,
	"cmd/stripesync/demo_pay.go": true,
	"cmd/stripesync/emulate.go":  true,
}

func TestEmulatorsAreImportedOnlyByTestsDemoAndEmulate(t *testing.T) {
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		own := "github.com/stripesync/stripesync/" + filepath.ToSlash(filepath.Dir(path))
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			// An emulator may use another (the demo's world wires them).
			if emulators[p] && !emulators[own] && !emulatorImporters[filepath.ToSlash(path)] {
				t.Errorf("%s imports the emulator %s; only tests, the demo and emulate may", path, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("only %d Go files checked; is the test running at the module root?", checked)
	}
}
