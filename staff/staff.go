// Package staff reads and writes the staff token file
// (STRIPESYNC_STAFF_TOKENS_FILE) and checks bearer tokens against it.
//
// The file holds one line per token, "name sha256-hex": the staff member's
// name (as request logs show it) and the SHA-256 of the token, hex. Blank
// lines and lines starting with # are comments. Tokens themselves are
// never stored: NewToken prints one once, and only its hash is kept.
package staff

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/stripesync/stripesync"
)

// TokenPrefix starts every token NewToken makes, so that a leaked one is
// recognisable (secret scanners, logs).
const TokenPrefix = "sst_"

// tokenBytes is the randomness of a token.
const tokenBytes = 32

// maxLine bounds a line of the file; a longer one is malformed.
const maxLine = 512

var nameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$`)

// Entry is one line of the file.
type Entry struct {
	Name string
	Hash [sha256.Size]byte // SHA-256 of the token
}

// ValidName reports whether name can stand in the file: 1 to 64 letters,
// digits and . _ @ + -, starting with a letter or digit.
func ValidName(name string) bool { return nameRe.MatchString(name) }

// Parse reads a token file. A malformed line, a repeated name or a
// repeated hash is EINVALID, naming the line but never quoting a hash.
func Parse(r io.Reader) ([]Entry, error) {
	var out []Entry
	names := map[string]bool{}
	hashes := map[[sha256.Size]byte]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, maxLine), maxLine)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			return nil, stripesync.Errorf(stripesync.EINVALID, "staff tokens line %d: want \"name sha256-hex\"", n)
		}
		name, sum := fields[0], fields[1]
		if !ValidName(name) {
			return nil, stripesync.Errorf(stripesync.EINVALID, "staff tokens line %d: %q is not a valid name", n, name)
		}
		var e Entry
		if len(sum) != hex.EncodedLen(sha256.Size) {
			return nil, stripesync.Errorf(stripesync.EINVALID, "staff tokens line %d: the hash is not 64 hex digits", n)
		}
		if _, err := hex.Decode(e.Hash[:], []byte(sum)); err != nil {
			return nil, stripesync.Errorf(stripesync.EINVALID, "staff tokens line %d: the hash is not 64 hex digits", n)
		}
		e.Name = name
		if names[name] {
			return nil, stripesync.Errorf(stripesync.EINVALID, "staff tokens line %d: %s is listed twice", n, name)
		}
		if hashes[e.Hash] {
			return nil, stripesync.Errorf(stripesync.EINVALID, "staff tokens line %d: the same token is listed twice", n)
		}
		names[name], hashes[e.Hash] = true, true
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, stripesync.Errorf(stripesync.EINVALID, "staff tokens: a line is longer than %d bytes", maxLine)
		}
		return nil, stripesync.WrapError(stripesync.EUNAVAILABLE, err, "staff tokens: read")
	}
	return out, nil
}

// Load reads and parses the file at path.
func Load(path string) ([]Entry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, stripesync.WrapError(stripesync.EINVALID, err, "staff tokens: cannot read %s", path)
	}
	entries, err := Parse(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return entries, nil
}

// Hash is the SHA-256 of a token, as the file keeps it.
func Hash(token string) [sha256.Size]byte { return sha256.Sum256([]byte(token)) }

// NewToken returns a new random token: TokenPrefix and 32 bytes from
// crypto/rand, base64url without padding.
func NewToken() string {
	b := make([]byte, tokenBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return TokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// Add makes a token for name, appends its line to the file at path
// (creating it with mode 0600) and returns the token, which is shown
// nowhere else. A name already in the file, or an invalid one, is
// EINVALID and nothing is written.
func Add(path, name string) (string, error) {
	if !ValidName(name) {
		return "", stripesync.Errorf(stripesync.EINVALID, "%q is not a valid staff name (letters, digits and . _ @ + -, at most 64)", name)
	}
	var existing []Entry
	switch b, err := os.ReadFile(path); {
	case err == nil:
		if existing, err = Parse(bytes.NewReader(b)); err != nil {
			return "", fmt.Errorf("%s: %w", path, err)
		}
		if len(b) > 0 && b[len(b)-1] != '\n' {
			// Finish the last line first.
			if err := appendLine(path, ""); err != nil {
				return "", err
			}
		}
	case !errors.Is(err, os.ErrNotExist):
		return "", stripesync.WrapError(stripesync.EINVALID, err, "staff tokens: cannot read %s", path)
	}
	for _, e := range existing {
		if e.Name == name {
			return "", stripesync.Errorf(stripesync.EINVALID, "%s already has a token in %s: remove its line first to replace it", name, path)
		}
	}
	token := NewToken()
	sum := Hash(token)
	if err := appendLine(path, name+" "+hex.EncodeToString(sum[:])); err != nil {
		return "", err
	}
	return token, nil
}

// Remove deletes name's line from the file at path, keeping every other
// line (comments included) as it is, so that name's token stops working as
// soon as the daemon rereads the file. The file is replaced by a rename,
// so a daemon reading it meanwhile sees the old file or the new one, never
// half of one. A name the file does not hold is ENOTFOUND; a file that
// does not parse is EINVALID, and nothing is written.
func Remove(path, name string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return stripesync.WrapError(stripesync.EINVALID, err, "staff tokens: cannot read %s", path)
	}
	if _, err := Parse(bytes.NewReader(b)); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	var kept []string
	found := false
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if fields := strings.Fields(line); len(fields) == 2 && fields[0] == name {
			found = true
			continue
		}
		kept = append(kept, line)
	}
	if !found {
		return stripesync.Errorf(stripesync.ENOTFOUND, "%s has no token in %s", name, path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".staff-*")
	if err != nil {
		return stripesync.WrapError(stripesync.EINVALID, err, "staff tokens: cannot write beside %s", path)
	}
	defer os.Remove(tmp.Name()) // after the rename, a no-op
	_, err = tmp.WriteString(strings.Join(kept, ""))
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return stripesync.WrapError(stripesync.EUNAVAILABLE, err, "staff tokens: write %s", path)
	}
	return nil
}

func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return stripesync.WrapError(stripesync.EINVALID, err, "staff tokens: cannot write %s", path)
	}
	_, err = f.WriteString(line + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return stripesync.WrapError(stripesync.EUNAVAILABLE, err, "staff tokens: write %s", path)
	}
	return nil
}

// Match returns the name of the entry whose hash is token's. Every entry
// is compared, in constant time, whatever matches, so the time taken says
// nothing about which tokens exist.
func Match(entries []Entry, token string) (name string, ok bool) {
	sum := Hash(token)
	for _, e := range entries {
		if subtle.ConstantTimeCompare(sum[:], e.Hash[:]) == 1 {
			name, ok = e.Name, true
		}
	}
	return name, ok
}

// File is the token file at a path, read again when it changes on disk
// (checked at most once a second), so that "stripesync staff add" takes
// effect without a restart. It is safe for concurrent use.
type File struct {
	path string

	mu      sync.Mutex
	entries []Entry
	mod     time.Time
	size    int64
	checked time.Time
}

// Open reads the file at path; a missing or malformed file is an error.
func Open(path string) (*File, error) {
	f := &File{path: path}
	if err := f.reload(time.Now()); err != nil {
		return nil, err
	}
	return f, nil
}

// reload reads the file if it changed since the last read. A file that
// became malformed or unreadable keeps the entries read before, so that a
// half-edited file does not lock every staff member out.
func (f *File) reload(now time.Time) error {
	f.checked = now
	st, err := os.Stat(f.path)
	if err != nil {
		return stripesync.WrapError(stripesync.EINVALID, err, "staff tokens: cannot read %s", f.path)
	}
	if f.entries != nil && st.ModTime().Equal(f.mod) && st.Size() == f.size {
		return nil
	}
	entries, err := Load(f.path)
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []Entry{}
	}
	f.entries, f.mod, f.size = entries, st.ModTime(), st.Size()
	return nil
}

// current returns the entries, rereading the file first when the last
// check is a second old or more: a change on disk takes effect within a
// second, and a busy server stats the file at most once a second.
func (f *File) current() []Entry {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now := time.Now(); now.Sub(f.checked) >= time.Second {
		_ = f.reload(now) // on failure the entries read before stay
	}
	return f.entries
}

// Authenticate returns the staff name of token (see Match).
func (f *File) Authenticate(token string) (name string, ok bool) {
	return Match(f.current(), token)
}

// Known reports whether name still has a line in the file, as Authenticate
// sees it (rereading a changed file at most once a second). The staff
// console asks on every request, so that "stripesync staff remove" ends the
// sessions of the person removed within a second, not when they expire. As
// for Authenticate, a file that became malformed keeps the names read
// before.
func (f *File) Known(name string) bool {
	return slices.ContainsFunc(f.current(), func(e Entry) bool { return e.Name == name })
}
