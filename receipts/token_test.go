package receipts

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stripesync/stripesync"
)

func testSigner(t testing.TB, fill byte) *Signer {
	t.Helper()
	s, err := NewSigner(bytes.Repeat([]byte{fill}, MinKeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignerRoundTrip(t *testing.T) {
	s := testSigner(t, 7)
	for _, id := range []string{"pi_3PqRsTuVwXyZ0123456789ab", "x", "ünïcode/with spaces.and.dots", strings.Repeat("p", 500)} {
		tok := s.Token(id)
		if strings.ContainsAny(tok, "+/=") {
			t.Errorf("Token(%q) = %q is not URL-safe", id, tok)
		}
		if got, err := s.PaymentID(tok); err != nil || got != id {
			t.Errorf("PaymentID(Token(%q)) = %q, %v", id, got, err)
		}
		if s.Token(id) != tok {
			t.Errorf("Token(%q) is not deterministic", id)
		}
	}
	if a, b := s.Token("pi_1"), s.Token("pi_2"); a == b {
		t.Error("two payments share a token")
	}
}

func TestSignerRejectsForgeries(t *testing.T) {
	s := testSigner(t, 7)
	other := testSigner(t, 8)
	tok := s.Token("pi_123")
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	swapID := append([]byte("pi_124"), raw[len("pi_123"):]...)
	cases := map[string]string{
		"Empty":            "",
		"NotBase64":        "not a token!",
		"StdAlphabet":      strings.NewReplacer("-", "+", "_", "/").Replace(tok) + "+/",
		"Padded":           tok + "=",
		"Truncated":        tok[:len(tok)-1],
		"TruncatedToMAC":   base64.RawURLEncoding.EncodeToString(raw[len("pi_123"):]),
		"Extended":         tok + "A",
		"IDTampered":       flip(0),
		"MACTampered":      flip(len(raw) - 1),
		"IDSwapped":        base64.RawURLEncoding.EncodeToString(swapID),
		"OtherKey":         other.Token("pi_123"),
		"PlainID":          "pi_123",
		"NonCanonicalTail": tok[:len(tok)-1] + string(tok[len(tok)-1]^1),
	}
	for name, forged := range cases {
		t.Run(name, func(t *testing.T) {
			id, err := s.PaymentID(forged)
			if stripesync.CodeOf(err) != stripesync.ENOTFOUND || id != "" {
				t.Errorf("PaymentID(%q) = %q, %v; want ENOTFOUND", forged, id, err)
			}
			if err != nil && forged != "" && strings.Contains(err.Error(), forged) {
				t.Errorf("error %q quotes the token", err)
			}
		})
	}
}

func TestNewSigner(t *testing.T) {
	if _, err := NewSigner(make([]byte, MinKeySize-1)); stripesync.CodeOf(err) != stripesync.EINVALID {
		t.Errorf("NewSigner(31-byte key) = %v, want EINVALID", err)
	}
	key := bytes.Repeat([]byte{1}, MinKeySize)
	s, err := NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	tok := s.Token("pi_1")
	key[0] = 2 // the caller reusing its buffer must not change the signer
	if _, err := s.PaymentID(tok); err != nil {
		t.Errorf("token stopped verifying after the caller changed its key buffer: %v", err)
	}
}

// FuzzSignerPaymentID: no input panics, only a token Token made verifies
// (a verified token is exactly Token of its id), and every non-empty id
// round-trips.
func FuzzSignerPaymentID(f *testing.F) {
	s := testSigner(f, 7)
	tok := s.Token("pi_123")
	for _, seed := range []string{tok, "", "pi_123", "AAAA", s.Token("x") + "=", testSigner(f, 8).Token("pi_123"), tok[:6] + "\r\n" + tok[6:]} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if id, err := s.PaymentID(in); err == nil {
			if s.Token(id) != in {
				t.Fatalf("PaymentID(%q) = %q, but Token(%q) = %q", in, id, id, s.Token(id))
			}
		} else if stripesync.CodeOf(err) != stripesync.ENOTFOUND {
			t.Fatalf("PaymentID(%q): %v, want ENOTFOUND", in, err)
		}
		if in != "" {
			if id, err := s.PaymentID(s.Token(in)); err != nil || id != in {
				t.Fatalf("PaymentID(Token(%q)) = %q, %v", in, id, err)
			}
		}
	})
}

// A token with CR or LF inserted decodes to the same bytes, which must not
// make it a second valid spelling of the link.
func TestTokenHasOneSpelling(t *testing.T) {
	s := testSigner(t, 7)
	tok := s.Token("pi_123")
	for _, bad := range []string{tok[:6] + "\n" + tok[6:], tok + "\r\n", "\r" + tok} {
		if id, err := s.PaymentID(bad); err == nil {
			t.Errorf("PaymentID(%q) = %q: a non-canonical token verified", bad, id)
		}
	}
}
