package stripesync

import "encoding/base64"

// DecodeToken decodes the unpadded base64url text of a signed token (a
// receipt, payment or portal link, a form nonce) and reports whether s is
// its one canonical form. Go's decoder skips CR and LF even in strict
// mode, so "abc%0Adef" would decode like "abcdef": a token that is not
// exactly the encoding of its bytes is refused, and every token has one
// spelling.
func DecodeToken(s string) ([]byte, bool) {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || base64.RawURLEncoding.EncodeToString(raw) != s {
		return nil, false
	}
	return raw, true
}
