package receipts

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"

	"github.com/stripesync/stripesync"
)

// MinKeySize is the smallest Signer key accepted, in bytes: the HMAC-SHA256
// block of security a download link needs.
const MinKeySize = 32

// tokenPurpose separates receipt links from anything else the same key
// might sign.
const tokenPurpose = "receipt:"

// Signer makes and checks the unguessable receipt download links,
// GET /receipts/{token}.pdf. A token is the payment id and its
// HMAC-SHA256, base64url-encoded without padding: anyone holding the link
// can download the receipt, nobody can derive another payment's link, and
// no database lookup is needed to reject a forged one. Tokens do not
// expire: a receipt stays downloadable. It is safe for concurrent use.
type Signer struct {
	key []byte
}

// NewSigner returns a Signer for key, which must be at least MinKeySize
// random bytes and stay the same across restarts and replicas (links
// already sent stop working when it changes). Too short a key is EINVALID.
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < MinKeySize {
		return nil, stripesync.Errorf(stripesync.EINVALID, "receipt link key has %d bytes, need at least %d", len(key), MinKeySize)
	}
	return &Signer{key: append([]byte(nil), key...)}, nil
}

// Token returns the URL-safe token of paymentID, which must not be empty.
func (s *Signer) Token(paymentID string) string {
	return base64.RawURLEncoding.EncodeToString(append([]byte(paymentID), s.mac(paymentID)...))
}

// PaymentID returns the payment id token was made for. A token that is
// malformed, truncated, altered or signed with another key is ENOTFOUND,
// the same answer as for an unknown receipt, so a guesser learns nothing;
// the error never quotes the token.
func (s *Signer) PaymentID(token string) (string, error) {
	notFound := stripesync.Errorf(stripesync.ENOTFOUND, "no receipt for this link")
	raw, ok := stripesync.DecodeToken(token)
	if !ok || len(raw) <= sha256.Size {
		return "", notFound
	}
	id, sum := string(raw[:len(raw)-sha256.Size]), raw[len(raw)-sha256.Size:]
	if !hmac.Equal(sum, s.mac(id)) {
		return "", notFound
	}
	return id, nil
}

func (s *Signer) mac(paymentID string) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte(tokenPurpose + paymentID))
	return h.Sum(nil)
}
