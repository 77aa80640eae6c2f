package stripeclient

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripesync/stripesync"
)

// DefaultWebhookTolerance is how far a webhook's signature time may be from
// now, either way, when VerifyWebhook is given no tolerance: Stripe's
// libraries use five minutes.
const DefaultWebhookTolerance = 5 * time.Minute

// Why a webhook or an event was refused. VerifyWebhook and ParseEvent
// return EINVALID errors that wrap one of these, so callers can count
// refusals by reason with errors.Is.
var (
	ErrNoSignature        = errors.New("the Stripe-Signature header is missing or has no v1 entry")
	ErrMalformedSignature = errors.New("the Stripe-Signature header is not a list of key=value pairs with an integer t")
	ErrBadSignature       = errors.New("no v1 signature matches a webhook secret")
	ErrStaleSignature     = errors.New("the signature time is too far from now")
	ErrMalformedEvent     = errors.New("the payload is not a Stripe event")
)

// maxSignatures bounds the v1 entries read from one header: Stripe sends
// one per secret being rolled, so a few at most.
const maxSignatures = 8

// VerifyWebhook checks a webhook delivery the way Stripe prescribes and
// parses it. header is Stripe-Signature: "t=<unix>,v1=<hex>[,v1=…][,v0=…]".
// The signature is the hex HMAC-SHA256 of "<t>.<payload>" keyed with an
// endpoint secret; any v1 entry matching any of secrets passes, so secrets
// can be rolled. The signature is checked first, then the time: |now − t|
// must be within tolerance (≤ 0 means DefaultWebhookTolerance), which
// rejects replays of old deliveries and timestamps from the future.
//
// Every failure is EINVALID, with a message naming the reason ("no
// signature", "malformed signature header", "bad signature", "timestamp
// outside the tolerance", "malformed JSON") and never a secret. An event
// of another API version is accepted: EventSnapshot uses its object only
// in an API version whose shape it knows, and the engine reads the object
// from Stripe otherwise.
func VerifyWebhook(payload []byte, header string, secrets []string, tolerance time.Duration, now time.Time) (stripesync.Event, error) {
	if tolerance <= 0 {
		tolerance = DefaultWebhookTolerance
	}
	ts, tsText, sigs, n, err := parseSignatureHeader(header)
	if err != nil {
		return stripesync.Event{}, err
	}
	if len(secrets) == 0 {
		return stripesync.Event{}, stripesync.Errorf(stripesync.EINVALID, "stripe webhook: no webhook secret is configured")
	}
	if !signatureMatches(payload, tsText, sigs[:n], secrets) {
		return stripesync.Event{}, stripesync.WrapError(stripesync.EINVALID, ErrBadSignature, "stripe webhook: bad signature")
	}
	signed := time.Unix(ts, 0)
	if d := now.Sub(signed); d > tolerance || d < -tolerance {
		when := d.String() + " ago"
		if d < 0 {
			when = (-d).String() + " ahead"
		}
		return stripesync.Event{}, stripesync.WrapError(stripesync.EINVALID,
			fmt.Errorf("%w: signed at %s, %s, tolerance %s", ErrStaleSignature, signed.UTC().Format(time.RFC3339), when, tolerance),
			"stripe webhook: timestamp outside the tolerance")
	}
	return ParseEvent(payload)
}

// parseSignatureHeader reads t and the v1 entries (at most maxSignatures;
// undecodable ones are skipped, as Stripe's libraries do). Other schemes
// (v0) are ignored.
func parseSignatureHeader(header string) (ts int64, tsText string, sigs [maxSignatures][sha256.Size]byte, n int, err error) {
	if strings.TrimSpace(header) == "" {
		return 0, "", sigs, 0, stripesync.WrapError(stripesync.EINVALID, ErrNoSignature, "stripe webhook: no signature")
	}
	malformed := stripesync.WrapError(stripesync.EINVALID, ErrMalformedSignature, "stripe webhook: malformed signature header")
	haveT := false
	for rest := header; rest != ""; {
		var part string
		part, rest, _ = strings.Cut(rest, ",")
		key, value, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || key == "" {
			return 0, "", sigs, 0, malformed
		}
		switch key {
		case "t":
			t, perr := strconv.ParseInt(value, 10, 64)
			if perr != nil {
				return 0, "", sigs, 0, malformed
			}
			ts, tsText, haveT = t, value, true
		case "v1":
			if n == maxSignatures || hex.DecodedLen(len(value)) != sha256.Size {
				continue
			}
			if _, derr := hex.Decode(sigs[n][:], []byte(value)); derr == nil {
				n++
			}
		}
	}
	if !haveT {
		return 0, "", sigs, 0, malformed
	}
	if n == 0 {
		return 0, "", sigs, 0, stripesync.WrapError(stripesync.EINVALID, ErrNoSignature, "stripe webhook: no signature")
	}
	return ts, tsText, sigs, n, nil
}

// signatureMatches reports whether any signature is the HMAC of
// "<t>.<payload>" under any secret, comparing in constant time.
func signatureMatches(payload []byte, ts string, sigs [][sha256.Size]byte, secrets []string) bool {
	var sum [sha256.Size]byte
	for _, secret := range secrets {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(ts))
		mac.Write([]byte{'.'})
		mac.Write(payload)
		mac.Sum(sum[:0])
		for i := range sigs {
			if hmac.Equal(sum[:], sigs[i][:]) {
				return true
			}
		}
	}
	return false
}

// eventEnvelope is the part of an event that routing needs; everything
// else in the payload is skipped by the decoder.
type eventEnvelope struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Created    int64  `json:"created"`
	APIVersion string `json:"api_version"`
	Account    string `json:"account"`
	Data       struct {
		Object struct {
			ID            string          `json:"id"`
			Object        string          `json:"object"`
			PaymentIntent json.RawMessage `json:"payment_intent"`
		} `json:"object"`
	} `json:"data"`
}

// ParseEvent decodes the routing fields of a Stripe event (from a webhook
// or the Events API) and keeps raw as Payload (raw itself, not a copy). PaymentIntentID is the
// object's id for a PaymentIntent, and the object's payment_intent for a
// charge, dispute, refund or Checkout Session; CustomerID is the object's
// id for a customer (customer.deleted). Malformed JSON, or an event
// without id or type, is EINVALID.
func ParseEvent(raw []byte) (stripesync.Event, error) {
	var env eventEnvelope
	if err := json.Unmarshal(raw, &env); err != nil {
		return stripesync.Event{}, stripesync.WrapError(stripesync.EINVALID,
			fmt.Errorf("%w: %v", ErrMalformedEvent, err), "stripe event: malformed JSON")
	}
	switch {
	case env.ID == "":
		return stripesync.Event{}, stripesync.WrapError(stripesync.EINVALID, ErrMalformedEvent, "stripe event: missing id")
	case env.Type == "":
		return stripesync.Event{}, stripesync.WrapError(stripesync.EINVALID, ErrMalformedEvent, "stripe event: missing type")
	}
	obj := env.Data.Object
	e := stripesync.Event{
		ID:         env.ID,
		Type:       env.Type,
		Created:    unixTime(env.Created),
		APIVersion: env.APIVersion,
		Account:    env.Account,
		ObjectID:   obj.ID,
		Payload:    raw,
	}
	switch obj.Object {
	case "payment_intent":
		e.PaymentIntentID = obj.ID
	case "customer":
		e.CustomerID = obj.ID
	default:
		e.PaymentIntentID = expandableID(obj.PaymentIntent)
	}
	return e, nil
}

// expandableID reads an expandable field: a string id, an object with an
// id, or null.
func expandableID(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	var id string
	if raw[0] == '"' {
		if json.Unmarshal(raw, &id) == nil {
			return id
		}
		return ""
	}
	var obj struct {
		ID string `json:"id"`
	}
	if raw[0] == '{' && json.Unmarshal(raw, &obj) == nil {
		return obj.ID
	}
	return ""
}
