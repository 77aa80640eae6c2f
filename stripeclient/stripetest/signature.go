package stripetest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// SignPayload returns the Stripe-Signature header value Stripe sends with
// payload: "t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.payload" keyed with
// secret>". Tests use it to forge deliveries, good and bad.
func SignPayload(payload []byte, secret string, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(payload)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}
