// Package links makes and checks the signed links the daemon sends to
// customers: a payment link names one invoice (GET /pay/{token}), a portal
// link one account (GET /portal/{token}).
//
// A token carries its kind, subject, issue time and expiry, and an
// HMAC-SHA256 over all of them, base64url-encoded without padding. Anyone
// holding a link can use it until it expires; nobody can derive another
// invoice's link or extend one, and a forged token is rejected without a
// database lookup. Revocation is the ledger's: a link issued at or before
// the subject's revocation time stops working (see Link.RevokedBy).
package links

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"

	"github.com/stripesync/stripesync"
)

// MinKeySize is the smallest key accepted, in bytes.
const MinKeySize = 32

// Kind separates the uses of one key: a payment link never opens a portal.
type Kind byte

// The link kinds.
const (
	Pay    Kind = 'p' // subject: a CRM invoice id
	Portal Kind = 'a' // subject: a CRM account id
)

// version is the first byte of every token, so the format can change
// without old links being misread.
const version = 1

// maxSubject bounds the subject, and with it the token: CRM ids are 18
// characters.
const maxSubject = 64

// header is version, kind, issue time and expiry (milliseconds since the
// epoch), then the subject.
const header = 2 + 8 + 8

// Link is what a token says.
type Link struct {
	Kind    Kind
	Subject string
	Issued  time.Time // millisecond precision
	Expires time.Time // millisecond precision
}

// Expired reports whether the link can no longer be used at now.
func (l Link) Expired(now time.Time) bool { return !now.Before(l.Expires) }

// RevokedBy reports whether a revocation at revokedAt covers the link: it
// was issued at or before then. A zero revokedAt revokes nothing.
func (l Link) RevokedBy(revokedAt time.Time) bool {
	return !revokedAt.IsZero() && !l.Issued.After(revokedAt)
}

// Signer makes and checks tokens. It is safe for concurrent use.
type Signer struct {
	key []byte
}

// NewSigner returns a Signer for key, at least MinKeySize random bytes that
// stay the same across restarts and replicas (links already sent stop
// working when it changes). Too short a key is EINVALID.
func NewSigner(key []byte) (*Signer, error) {
	if len(key) < MinKeySize {
		return nil, stripesync.Errorf(stripesync.EINVALID, "link signing key has %d bytes, need at least %d", len(key), MinKeySize)
	}
	return &Signer{key: append([]byte(nil), key...)}, nil
}

// Token returns the URL-safe token of l. Times are kept to the
// millisecond. A subject that is empty or longer than 64 bytes is
// EINVALID.
func (s *Signer) Token(l Link) (string, error) {
	if l.Subject == "" || len(l.Subject) > maxSubject {
		return "", stripesync.Errorf(stripesync.EINVALID, "a link subject must have 1 to %d bytes", maxSubject)
	}
	if l.Kind != Pay && l.Kind != Portal {
		return "", stripesync.Errorf(stripesync.EINVALID, "unknown link kind %q", rune(l.Kind))
	}
	msg := make([]byte, header, header+len(l.Subject)+sha256.Size)
	msg[0], msg[1] = version, byte(l.Kind)
	binary.BigEndian.PutUint64(msg[2:], uint64(l.Issued.UnixMilli()))
	binary.BigEndian.PutUint64(msg[10:], uint64(l.Expires.UnixMilli()))
	msg = append(msg, l.Subject...)
	return base64.RawURLEncoding.EncodeToString(s.seal(msg)), nil
}

// Parse checks token and returns the link it carries if it is of kind.
// Anything else (malformed, truncated, altered, signed with another key,
// another kind) is ENOTFOUND, the same answer as for an unknown link, so a
// guesser learns nothing; the error never quotes the token. Expiry and
// revocation are the caller's to check, so that it can say which it was.
func (s *Signer) Parse(token string, kind Kind) (Link, error) {
	notFound := stripesync.Errorf(stripesync.ENOTFOUND, "no such link")
	if len(token) > base64.RawURLEncoding.EncodedLen(header+maxSubject+sha256.Size) {
		return Link{}, notFound
	}
	raw, ok := stripesync.DecodeToken(token)
	if !ok || len(raw) <= header+sha256.Size {
		return Link{}, notFound
	}
	msg, sum := raw[:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	if !hmac.Equal(sum, s.mac(msg)) || msg[0] != version || Kind(msg[1]) != kind {
		return Link{}, notFound
	}
	return Link{
		Kind:    kind,
		Subject: string(msg[header:]),
		Issued:  time.UnixMilli(int64(binary.BigEndian.Uint64(msg[2:]))),
		Expires: time.UnixMilli(int64(binary.BigEndian.Uint64(msg[10:]))),
	}, nil
}

func (s *Signer) seal(msg []byte) []byte { return append(msg, s.mac(msg)...) }

func (s *Signer) mac(msg []byte) []byte {
	h := hmac.New(sha256.New, s.key)
	h.Write([]byte("link:"))
	h.Write(msg)
	return h.Sum(nil)
}
