package stripetest

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// idemTTL is how long Stripe keeps a key at least; after that a reuse is a
// new request.
const idemTTL = 24 * time.Hour

// maxIdemKey is Stripe's limit on the Idempotency-Key header.
const maxIdemKey = 255

type idemKey struct {
	scope scope
	key   string
}

// idemEntry is the idempotency layer's record of the first request made
// with a key.
type idemEntry struct {
	path    string
	hash    [32]byte
	created time.Time
	done    bool // false while the first request is still running
	status  int
	body    []byte
	reqID   string
}

// idemOutcome tells the pipeline what to do with a keyed POST.
type idemOutcome int

const (
	idemRun    idemOutcome = iota // new key, now reserved: run and save
	idemReplay                    // saved response: send it again
	idemReject                    // mismatch or in flight: send the error
)

func fingerprint(method, path string, values url.Values) [32]byte {
	return sha256.Sum256([]byte(method + " " + path + "\n" + values.Encode()))
}

// idemBegin looks key up and either reserves it for this request, returns
// the saved entry to replay, or returns the error Stripe would send. The
// caller holds no lock.
func (s *Server) idemBegin(sc scope, key, path string, hash [32]byte) (idemOutcome, *idemEntry, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := idemKey{scope: sc, key: key}
	now := s.clock()
	e, ok := s.idem[k]
	if ok && e.done && now.Sub(e.created) > idemTTL {
		ok = false
	}
	if !ok {
		s.idem[k] = &idemEntry{path: path, hash: hash, created: now}
		return idemRun, nil, nil
	}
	switch {
	case !e.done:
		return idemReject, nil, &apiError{
			status:  http.StatusConflict,
			Type:    typeIdempotency,
			Code:    "idempotency_key_in_use",
			Message: fmt.Sprintf("There is currently another in-progress request using this idempotency key (that probably means you submitted twice, and the other request is still going through): '%s'. Please try again later.", key),
			DocURL:  docURL("idempotency_key_in_use"),
		}
	case e.path != path:
		return idemReject, nil, &apiError{
			status:  http.StatusBadRequest,
			Type:    typeIdempotency,
			Message: fmt.Sprintf("Keys for idempotent requests can only be used for the same endpoint they were first used for ('%s' vs '%s'). Try using a key other than '%s' if you meant to execute a different request.", e.path, path, key),
		}
	case e.hash != hash:
		return idemReject, nil, &apiError{
			status:  http.StatusBadRequest,
			Type:    typeIdempotency,
			Message: fmt.Sprintf("Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '%s' if you meant to execute a different request.", key),
		}
	}
	saved := *e
	return idemReplay, &saved, nil
}

// idemFinish saves the response of a key reserved by idemBegin. Validation
// errors never get here: they are answered before the key is reserved, so a
// corrected retry with the same key runs, as in Stripe.
func (s *Server) idemFinish(sc scope, key string, status int, body []byte, reqID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.idem[idemKey{scope: sc, key: key}]
	e.done, e.status, e.body, e.reqID = true, status, body, reqID
}
