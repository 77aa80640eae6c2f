package staff

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stripesync/stripesync"
)

func TestAddListsTheNameAndMatchesOnlyItsToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "staff")
	alice, err := Add(path, "alice")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := Add(path, "bob@example.test")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(alice, TokenPrefix) || len(alice) < len(TokenPrefix)+43 || alice == bob {
		t.Fatalf("tokens %q and %q: want distinct %s… tokens of at least 32 random bytes", alice, bob, TokenPrefix)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600", st.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	if strings.Contains(string(raw), alice) || strings.Contains(string(raw), bob) {
		t.Fatalf("the file holds a token itself:\n%s", raw)
	}
	entries, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 || entries[0].Name != "alice" || entries[1].Name != "bob@example.test" {
		t.Fatalf("entries %+v", entries)
	}
	for token, want := range map[string]string{alice: "alice", bob: "bob@example.test"} {
		if name, ok := Match(entries, token); !ok || name != want {
			t.Errorf("Match(%s…) = %q, %v; want %q", token[:8], name, ok, want)
		}
	}
	for _, bad := range []string{"", "sst_", alice + "x", strings.ToUpper(alice), hex.EncodeToString(entries[0].Hash[:])} {
		if name, ok := Match(entries, bad); ok {
			t.Errorf("Match(%q) accepted as %s", bad, name)
		}
	}
	if _, err := Add(path, "alice"); stripesync.CodeOf(err) != stripesync.EINVALID {
		t.Errorf("adding alice twice: %v, want EINVALID", err)
	}
	if _, err := Add(path, "has space"); stripesync.CodeOf(err) != stripesync.EINVALID {
		t.Errorf("adding a name with a space: %v, want EINVALID", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(raw) {
		t.Errorf("a refused add changed the file:\n%s", after)
	}
}

func TestParse(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	other := strings.Repeat("cd", 32)
	for _, tc := range []struct {
		name, file string
		want       int // entries, or -1 for an error
	}{
		{"empty", "", 0},
		{"comments and blanks", "# staff\n\n   # more\n", 0},
		{"two", "alice " + sum + "\n  bob\t" + other + "  \r\n", 2},
		{"no final newline", "alice " + sum, 1},
		{"upper-case hex", "alice " + strings.ToUpper(sum), 1},
		{"one field", "alice\n", -1},
		{"three fields", "alice " + sum + " extra\n", -1},
		{"short hash", "alice " + sum[:62] + "\n", -1},
		{"not hex", "alice " + strings.Repeat("zz", 32) + "\n", -1},
		{"bad name", "al/ice " + sum + "\n", -1},
		{"repeated name", "alice " + sum + "\nalice " + other + "\n", -1},
		{"repeated hash", "alice " + sum + "\nbob " + sum + "\n", -1},
		{"overlong line", "alice " + strings.Repeat("a", 600) + "\n", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(strings.NewReader(tc.file))
			switch {
			case tc.want < 0 && err == nil:
				t.Fatalf("parsed %+v, want an error", got)
			case tc.want < 0:
				if strings.Contains(err.Error(), sum) || strings.Contains(err.Error(), other) {
					t.Errorf("the error quotes a hash: %v", err)
				}
			case err != nil:
				t.Fatal(err)
			case len(got) != tc.want:
				t.Fatalf("%d entries, want %d", len(got), tc.want)
			}
		})
	}
}

func TestFileRereadsAChangedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "staff")
	alice, err := Add(path, "alice")
	if err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if name, ok := f.Authenticate(alice); !ok || name != "alice" {
		t.Fatalf("alice: %q %v", name, ok)
	}
	bob, err := Add(path, "bob")
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.checked = f.checked.Add(-2 * 1e9) // as if a second had passed
	f.mu.Unlock()
	if name, ok := f.Authenticate(bob); !ok || name != "bob" {
		t.Errorf("bob, added after Open: %q %v", name, ok)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("Open of a missing file succeeded")
	}
}

func TestKnownEndsWithTheLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "staff")
	for _, name := range []string{"alice", "bob"} {
		if _, err := Add(path, name); err != nil {
			t.Fatal(err)
		}
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"alice": true, "bob": true, "carol": false, "": false, "Alice": false} {
		if got := f.Known(name); got != want {
			t.Errorf("Known(%q) = %v, want %v", name, got, want)
		}
	}
	if err := Remove(path, "alice"); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.checked = f.checked.Add(-2 * time.Second) // as if a second had passed
	f.mu.Unlock()
	if f.Known("alice") {
		t.Error("alice is still known after her line was removed")
	}
	if !f.Known("bob") {
		t.Error("bob is no longer known after alice's line was removed")
	}
}

func FuzzParse(f *testing.F) {
	sum := strings.Repeat("0f", 32)
	for _, s := range []string{"", "# c\n", "alice " + sum + "\n", "a b c\n", "alice " + sum + "\nalice " + sum, "\xff " + sum} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		entries, err := Parse(strings.NewReader(s))
		if err != nil {
			if stripesync.CodeOf(err) != stripesync.EINVALID {
				t.Fatalf("error %v is not EINVALID", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, e := range entries {
			if !ValidName(e.Name) || seen[e.Name] {
				t.Fatalf("entry %+v: invalid or repeated name", e)
			}
			seen[e.Name] = true
			// What Parse accepts, written back, reads the same.
			again, err := Parse(strings.NewReader(e.Name + " " + hex.EncodeToString(e.Hash[:])))
			if err != nil || len(again) != 1 || again[0] != e {
				t.Fatalf("entry %+v does not survive a round trip: %+v %v", e, again, err)
			}
		}
	})
}

func TestRemoveDeletesOnlyThatLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "staff")
	if err := os.WriteFile(path, []byte("# phone team\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	alice, err := Add(path, "alice")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := Add(path, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if err := Remove(path, "alice"); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	entries, err := Parse(strings.NewReader(string(raw)))
	if err != nil || len(entries) != 1 || entries[0].Name != "bob" || !strings.HasPrefix(string(raw), "# phone team\n") {
		t.Fatalf("after removing alice: %v\n%s", err, raw)
	}
	if _, ok := Match(entries, alice); ok {
		t.Error("alice's token still matches")
	}
	if name, ok := Match(entries, bob); !ok || name != "bob" {
		t.Error("bob's token stopped matching")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v after a remove, want 0600", st.Mode().Perm())
	}
	if err := Remove(path, "alice"); stripesync.CodeOf(err) != stripesync.ENOTFOUND {
		t.Errorf("removing alice twice: %v, want ENOTFOUND", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(raw) {
		t.Errorf("a refused remove changed the file:\n%s", after)
	}
}
