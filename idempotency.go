package stripesync

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// IdempotencyKey derives the Idempotency-Key of a Stripe write from our own
// ids, so that a retry, a rerun or a restart sends the same key for the same
// intent. parts name the operation and its subject, e.g.
// IdempotencyKey("customer-create", crmID, "1"). Keys stay readable in
// Stripe's dashboard when short and are hashed when they would exceed
// Stripe's 255-character limit.
func IdempotencyKey(parts ...string) string {
	k := "stripesync:" + strings.Join(parts, ":")
	if len(k) <= 255 {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	return "stripesync:h:" + hex.EncodeToString(sum[:])
}
