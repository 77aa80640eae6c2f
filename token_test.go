package stripesync

import (
	"encoding/base64"
	"strings"
	"testing"
)

func TestDecodeTokenIsCanonical(t *testing.T) {
	good := base64.RawURLEncoding.EncodeToString([]byte("a payment id and its MAC"))
	if raw, ok := DecodeToken(good); !ok || string(raw) != "a payment id and its MAC" {
		t.Fatalf("DecodeToken(%q) = %q, %v", good, raw, ok)
	}
	for name, s := range map[string]string{
		"LF inside":        good[:5] + "\n" + good[5:],
		"CR LF at the end": good + "\r\n",
		"padding":          base64.URLEncoding.EncodeToString([]byte("a payment id and its MAC!")),
		"std alphabet":     strings.ReplaceAll(strings.ReplaceAll(good, "-", "+"), "_", "/") + "+/",
		"trailing bits":    base64.RawURLEncoding.EncodeToString([]byte("odd length"))[:13] + "x",
		"empty":            "",
	} {
		if _, ok := DecodeToken(s); ok && s != "" {
			t.Errorf("%s: DecodeToken(%q) accepted", name, s)
		}
	}
}

// FuzzDecodeToken: whatever is accepted is exactly the encoding of what
// it decodes to.
func FuzzDecodeToken(f *testing.F) {
	f.Add("YWJj")
	f.Add("YW\nJj")
	f.Add("YWJj\r\n")
	f.Fuzz(func(t *testing.T, s string) {
		raw, ok := DecodeToken(s)
		if ok && base64.RawURLEncoding.EncodeToString(raw) != s {
			t.Fatalf("DecodeToken(%q) accepted a non-canonical form", s)
		}
	})
}
