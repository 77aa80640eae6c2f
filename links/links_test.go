package links

import (
	"encoding/base64"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/stripesync/stripesync"
)

var (
	testKey  = []byte(strings.Repeat("k", MinKeySize))
	testTime = time.Date(2026, 12, 2, 10, 0, 0, 123_000_000, time.UTC)
)

func mustSigner(t testing.TB, key []byte) *Signer {
	t.Helper()
	s, err := NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustToken(t testing.TB, s *Signer, l Link) string {
	t.Helper()
	tok, err := s.Token(l)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func payLink(subject string) Link {
	return Link{Kind: Pay, Subject: subject, Issued: testTime, Expires: testTime.Add(30 * 24 * time.Hour)}
}

// sameLink compares links by instant, not by time.Time representation.
var sameLink = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })

func TestRoundTrip(t *testing.T) {
	s := mustSigner(t, testKey)
	for _, l := range []Link{
		payLink("a0X000000000001AAA"),
		{Kind: Portal, Subject: "001000000000001AAA", Issued: testTime, Expires: testTime.Add(time.Hour)},
		payLink("x"),
		payLink(strings.Repeat("s", maxSubject)),
		payLink("ünïcode/and?query&chars="),
		{Kind: Pay, Subject: "zero-times"},
	} {
		tok := mustToken(t, s, l)
		if strings.ContainsAny(tok, "+/=") {
			t.Errorf("Token(%q) = %q, not URL-safe without padding", l.Subject, tok)
		}
		got, err := s.Parse(tok, l.Kind)
		if err != nil {
			t.Fatalf("Parse(Token(%+v)): %v", l, err)
		}
		if diff := cmp.Diff(l, got, sameLink); diff != "" {
			t.Errorf("Parse(Token(l)) (-want +got):\n%s", diff)
		}
	}
}

func TestTokenKeepsMilliseconds(t *testing.T) {
	s := mustSigner(t, testKey)
	l := payLink("a0X1")
	l.Issued = l.Issued.Add(999 * time.Microsecond)
	got, err := s.Parse(mustToken(t, s, l), Pay)
	if err != nil {
		t.Fatal(err)
	}
	if want := l.Issued.Truncate(time.Millisecond); !got.Issued.Equal(want) {
		t.Errorf("Issued = %v, want %v", got.Issued, want)
	}
}

func TestTokenRefusesBadLinks(t *testing.T) {
	s := mustSigner(t, testKey)
	for name, l := range map[string]Link{
		"empty subject":    {Kind: Pay, Expires: testTime},
		"long subject":     payLink(strings.Repeat("s", maxSubject+1)),
		"unknown kind":     {Kind: 'x', Subject: "a0X1", Expires: testTime},
		"zero kind":        {Subject: "a0X1", Expires: testTime},
		"portal as letter": {Kind: 'P', Subject: "a0X1", Expires: testTime},
	} {
		if _, err := s.Token(l); stripesync.CodeOf(err) != stripesync.EINVALID {
			t.Errorf("%s: Token = %v, want EINVALID", name, err)
		}
	}
}

func TestNewSignerKeySize(t *testing.T) {
	if _, err := NewSigner(testKey[:MinKeySize-1]); stripesync.CodeOf(err) != stripesync.EINVALID {
		t.Errorf("NewSigner(31 bytes) = %v, want EINVALID", err)
	}
	key := append([]byte(nil), testKey...)
	s := mustSigner(t, key)
	tok := mustToken(t, s, payLink("a0X1"))
	key[0] ^= 0xff // the caller's slice is not the signer's
	if _, err := s.Parse(tok, Pay); err != nil {
		t.Errorf("Parse after the caller changed its key slice: %v", err)
	}
}

// wantNotFound checks that Parse refuses token as an unknown link would,
// without quoting it.
func wantNotFound(t *testing.T, s *Signer, what, token string, kind Kind) {
	t.Helper()
	l, err := s.Parse(token, kind)
	if stripesync.CodeOf(err) != stripesync.ENOTFOUND {
		t.Errorf("%s: Parse = %+v, %v; want ENOTFOUND", what, l, err)
		return
	}
	if l != (Link{}) {
		t.Errorf("%s: Parse returned %+v with its error", what, l)
	}
	if token != "" && strings.Contains(err.Error(), token) {
		t.Errorf("%s: the error quotes the token: %v", what, err)
	}
}

func TestParseWrongKind(t *testing.T) {
	s := mustSigner(t, testKey)
	pay := mustToken(t, s, payLink("a0X1"))
	portal := mustToken(t, s, Link{Kind: Portal, Subject: "a0X1", Issued: testTime, Expires: testTime.Add(time.Hour)})
	wantNotFound(t, s, "a pay token as a portal", pay, Portal)
	wantNotFound(t, s, "a portal token as a pay link", portal, Pay)
	wantNotFound(t, s, "a pay token as an unknown kind", pay, 'x')
}

func TestParseWrongKey(t *testing.T) {
	other := mustSigner(t, []byte(strings.Repeat("o", MinKeySize)))
	tok := mustToken(t, other, payLink("a0X1"))
	wantNotFound(t, mustSigner(t, testKey), "another key's token", tok, Pay)
	longer := mustSigner(t, append(append([]byte(nil), testKey...), 'k'))
	wantNotFound(t, longer, "a token of a key's prefix", mustToken(t, mustSigner(t, testKey), payLink("a0X1")), Pay)
}

func TestParseTruncatedAndAltered(t *testing.T) {
	s := mustSigner(t, testKey)
	tok := mustToken(t, s, payLink("a0X000000000001AAA"))
	for n := range len(tok) {
		wantNotFound(t, s, "truncated to "+tok[:n], tok[:n], Pay)
	}
	wantNotFound(t, s, "one character more", tok+"A", Pay)
	wantNotFound(t, s, "padded", tok+"=", Pay)
	for i := range len(tok) {
		c := byte('A')
		if tok[i] == 'A' {
			c = 'B'
		}
		altered := tok[:i] + string(c) + tok[i+1:]
		wantNotFound(t, s, "altered at "+strconv.Itoa(i), altered, Pay)
	}
	// The same bytes in the standard alphabet are not a token.
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	if std := base64.RawStdEncoding.EncodeToString(raw); std != tok {
		wantNotFound(t, s, "standard base64", std, Pay)
	}
	wantNotFound(t, s, "empty", "", Pay)
	wantNotFound(t, s, "huge", strings.Repeat("A", 10_000), Pay)
}

// A token whose MAC is right but whose version byte is not ours is
// refused: a future format is never misread as this one.
func TestParseOtherVersion(t *testing.T) {
	s := mustSigner(t, testKey)
	raw, _ := base64.RawURLEncoding.DecodeString(mustToken(t, s, payLink("a0X1")))
	msg := append([]byte(nil), raw[:len(raw)-32]...)
	msg[0] = version + 1
	wantNotFound(t, s, "version 2", base64.RawURLEncoding.EncodeToString(s.seal(msg)), Pay)
}

func TestExpired(t *testing.T) {
	l := payLink("a0X1")
	for _, c := range []struct {
		at   time.Time
		want bool
	}{
		{l.Issued, false},
		{l.Expires.Add(-time.Millisecond), false},
		{l.Expires, true}, // the expiry instant is already too late
		{l.Expires.Add(time.Millisecond), true},
	} {
		if got := l.Expired(c.at); got != c.want {
			t.Errorf("Expired(%v) = %v, want %v (expires %v)", c.at, got, c.want, l.Expires)
		}
	}
}

func TestRevokedBy(t *testing.T) {
	l := payLink("a0X1")
	for _, c := range []struct {
		name    string
		revoked time.Time
		want    bool
	}{
		{"never revoked", time.Time{}, false},
		{"revoked before the link was issued", l.Issued.Add(-time.Millisecond), false},
		{"revoked the millisecond it was issued", l.Issued, true},
		{"revoked after", l.Issued.Add(time.Millisecond), true},
	} {
		if got := l.RevokedBy(c.revoked); got != c.want {
			t.Errorf("%s: RevokedBy(%v) = %v, want %v", c.name, c.revoked, got, c.want)
		}
	}
	// The boundary survives a round trip: a link issued in the same
	// millisecond as a revocation, as a token says it, is revoked.
	s := mustSigner(t, testKey)
	l.Issued = l.Issued.Add(400 * time.Microsecond)
	got, err := s.Parse(mustToken(t, s, l), Pay)
	if err != nil {
		t.Fatal(err)
	}
	if !got.RevokedBy(l.Issued.Truncate(time.Millisecond)) {
		t.Errorf("a link issued at %v is not revoked at %v", got.Issued, l.Issued.Truncate(time.Millisecond))
	}
}

// FuzzParse: any string is either a valid link, which re-signs to a token
// that parses to the same link, or ENOTFOUND; Parse never panics.
func FuzzParse(f *testing.F) {
	s := mustSigner(f, testKey)
	good := mustToken(f, s, payLink("a0X000000000001AAA"))
	f.Add(good, byte(Pay))
	f.Add(good, byte(Portal))
	f.Add(mustToken(f, s, Link{Kind: Portal, Subject: "001", Issued: testTime, Expires: testTime}), byte(Portal))
	f.Add(good[:len(good)-1], byte(Pay))
	f.Add("", byte(Pay))
	f.Add("AQ", byte(Pay))
	f.Add("%00%ff", byte(Pay))
	f.Add(strings.Repeat("A", 200), byte(Pay))
	f.Add(good[:10]+"\r\n"+good[10:], byte(Pay))
	f.Fuzz(func(t *testing.T, token string, kind byte) {
		l, err := s.Parse(token, Kind(kind))
		if err != nil {
			if stripesync.CodeOf(err) != stripesync.ENOTFOUND || l != (Link{}) {
				t.Fatalf("Parse(%q, %q) = %+v, %v; want a link or ENOTFOUND", token, kind, l, err)
			}
			return
		}
		if l.Kind != Kind(kind) || l.Subject == "" || len(l.Subject) > maxSubject {
			t.Fatalf("Parse(%q, %q) accepted %+v", token, kind, l)
		}
		again, err := s.Token(l)
		if err != nil {
			t.Fatalf("Token(Parse(%q)) = %v", token, err)
		}
		// One spelling per link: what is accepted is exactly what Token
		// makes, so no second form (CR or LF inside, say) verifies.
		if again != token {
			t.Fatalf("Parse accepted %q, whose canonical form is %q", token, again)
		}
		back, err := s.Parse(again, l.Kind)
		if err != nil || !cmp.Equal(back, l, sameLink) {
			t.Fatalf("Parse(Token(%+v)) = %+v, %v", l, back, err)
		}
	})
}
