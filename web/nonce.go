package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"time"

	"github.com/stripesync/stripesync"
)

// nonceLifetime is how long a rendered form can be submitted: a page left
// open over lunch still works, a copied form from yesterday does not.
const nonceLifetime = 2 * time.Hour

// visitorCookie names the random id that tells one browser's
// reservations from another's (sync.PayRequest.Holder).
const visitorCookie = "stripesync_visitor"

// nonces makes and checks the one-time form nonces. A nonce is 12 random
// bytes and its issue time, sealed with an HMAC over them, the form's
// subject (invoice or account) and the visitor: a nonce works only for the
// page and the browser it was rendered for.
type nonces struct {
	key []byte
	now func() time.Time
}

const (
	nonceRandom = 12
	nonceBody   = nonceRandom + 8
	nonceMAC    = 16
)

func (n nonces) issue(subject, visitor string) string {
	b := make([]byte, nonceBody, nonceBody+nonceMAC)
	rand.Read(b[:nonceRandom])
	binary.BigEndian.PutUint64(b[nonceRandom:], uint64(n.now().Unix()))
	return base64.RawURLEncoding.EncodeToString(append(b, n.mac(b, subject, visitor)...))
}

// check reports whether nonce was issued for subject and visitor and is
// still fresh.
func (n nonces) check(nonce, subject, visitor string) bool {
	if len(nonce) != base64.RawURLEncoding.EncodedLen(nonceBody+nonceMAC) {
		return false
	}
	b, ok := stripesync.DecodeToken(nonce)
	if !ok {
		return false
	}
	body, sum := b[:nonceBody], b[nonceBody:]
	if !hmac.Equal(sum, n.mac(body, subject, visitor)) {
		return false
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(body[nonceRandom:])), 0)
	age := n.now().Sub(issued)
	return age >= -time.Minute && age < nonceLifetime
}

// issued is the issue time of a nonce that check accepted.
func (n nonces) issued(nonce string) time.Time {
	b, ok := stripesync.DecodeToken(nonce)
	if !ok || len(b) < nonceBody {
		return time.Time{}
	}
	return time.Unix(int64(binary.BigEndian.Uint64(b[nonceRandom:nonceBody])), 0)
}

func (n nonces) mac(body []byte, subject, visitor string) []byte {
	h := hmac.New(sha256.New, n.key)
	h.Write([]byte("form:" + subject + "\x00" + visitor + "\x00"))
	h.Write(body)
	return h.Sum(nil)[:nonceMAC]
}

// visitor returns the browser's visitor id, setting a new one when it has
// none (or a malformed one).
func visitor(w http.ResponseWriter, r *http.Request, secure bool) string {
	if c, err := r.Cookie(visitorCookie); err == nil && validVisitor(c.Value) {
		return c.Value
	}
	b := make([]byte, 16)
	rand.Read(b)
	id := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{
		Name: visitorCookie, Value: id, Path: "/", HttpOnly: true, Secure: secure,
		SameSite: http.SameSiteLaxMode, MaxAge: int((30 * 24 * time.Hour).Seconds()),
	})
	return id
}

func validVisitor(v string) bool {
	raw, ok := stripesync.DecodeToken(v)
	return ok && len(raw) == 16
}
