package stripesync

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
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

// StoredResponse is the answer the daemon gave to an API request that
// carried an Idempotency-Key, kept so that a retry of the request gets the
// same answer instead of paying again.
type StoredResponse struct {
	// Fingerprint identifies the request's parameters (a hash of its
	// method, path and body): a key reused with other parameters is the
	// caller's mistake, refused rather than replayed.
	Fingerprint string
	// Complete is false while the first request is still being served.
	Complete bool
	Status   int
	Body     []byte
}

// IdempotentRequests remembers the API requests that carried an
// Idempotency-Key. Implemented by store.DB.
type IdempotentRequests interface {
	// ClaimRequest starts serving the request with key in scope (the
	// staff member who sent it). claimed is true when this call may serve
	// it: the key is new, or an earlier attempt with the same fingerprint
	// was abandoned (started more than staleAfter before now, its process
	// presumably gone). Otherwise prev is what is stored: a complete
	// response to replay, or one still being served, or another
	// fingerprint.
	ClaimRequest(ctx context.Context, scope, key, fingerprint string, now time.Time, staleAfter time.Duration) (prev StoredResponse, claimed bool, err error)
	// CompleteRequest stores the response of a claimed request.
	CompleteRequest(ctx context.Context, scope, key string, status int, body []byte, now time.Time) error
	// ReleaseRequest forgets a claimed request whose outcome is unknown
	// (the daemon or Stripe failed), so that a retry is served afresh;
	// the Stripe idempotency key derived from the request's key keeps that
	// retry from paying twice.
	ReleaseRequest(ctx context.Context, scope, key string) error
}
