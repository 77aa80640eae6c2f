package httpapi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/stripesync/stripesync"
)

// DefaultTriggerMaxBody bounds an Outbound Message or JSON trigger body. A
// message of 100 notifications is 30–60 KB; a JSON trigger of 200 ids is
// under 5 KB.
const DefaultTriggerMaxBody = 1 << 20

// MaxTriggerIDs is the most record ids one JSON trigger may name: what one
// Apex callout sends for a trigger batch of 200 records.
const MaxTriggerIDs = 200

// TriggerSignatureHeader carries a JSON trigger's signature:
// "sha256=" and the hex HMAC-SHA256 of the raw body, keyed by
// TriggerConfig.Secret.
const TriggerSignatureHeader = "X-Stripesync-Signature"

// TriggerConfig wires the CRM's real-time triggers: POST
// /salesforce/outbound/{secret} (Outbound Messages, SOAP) and POST
// /v1/triggers (JSON from Apex callouts). Both store what they accept
// through Accept before they answer 2xx.
type TriggerConfig struct {
	// Secret (STRIPESYNC_TRIGGER_SECRET) is the Outbound Message path
	// secret and the JSON triggers' HMAC key. Empty refuses every request
	// to both routes.
	Secret string
	// OrgID (SALESFORCE_ORG_ID) is the 18-character org id Outbound
	// Messages must carry: the secret path proves the URL is known, the
	// org id that the sender is our org. Empty refuses every Outbound
	// Message (403).
	OrgID string
	// Objects lists the sObject API names accepted, e.g.
	// {"Account": true, "Invoice__c": true}. Nil means
	// stripesync.ObjectAccount and stripesync.ObjectInvoice.
	Objects map[string]bool
	// Outbound decodes Outbound Messages and renders their answers.
	// Required.
	Outbound OutboundCodec
	// Accept stores the triggers of one request in one transaction and
	// returns how many were new (TriggerInbox.AcceptTriggers). Required.
	Accept func(ctx context.Context, ts []stripesync.Trigger) (accepted int, err error)
	// Accepted is called after a request stored a new trigger, to wake
	// the trigger worker. It is called concurrently. May be nil.
	Accepted func()
	// MaxBody bounds a request body; 0 means DefaultTriggerMaxBody.
	MaxBody int64
}

func (c *TriggerConfig) maxBody() int64 {
	if c.MaxBody <= 0 {
		return DefaultTriggerMaxBody
	}
	return c.MaxBody
}

var defaultTriggerObjects = map[string]bool{stripesync.ObjectAccount: true, stripesync.ObjectInvoice: true}

func (c *TriggerConfig) objects() map[string]bool {
	if c.Objects == nil {
		return defaultTriggerObjects
	}
	return c.Objects
}

// handleTriggers answers Apex callouts. The signature is checked on the
// raw body before any JSON is parsed, so an unauthenticated sender reaches
// no parser; the triggers are stored before the 202. A bad request writes
// nothing.
func (s *Server) handleTriggers(w http.ResponseWriter, r *http.Request) {
	cfg := s.triggers
	unsigned := stripesync.Errorf(stripesync.EUNAUTHORIZED, "missing or bad %s", TriggerSignatureHeader)
	sig, ok := parseSignature(r.Header.Get(TriggerSignatureHeader))
	if !ok || cfg.Secret == "" {
		WriteError(w, r, s.logger, unsigned)
		return
	}
	limit := cfg.maxBody()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			WriteJSON(w, http.StatusRequestEntityTooLarge, errorBody{Error: errorDetail{
				Code: stripesync.EINVALID, Message: "body exceeds the size limit"}})
			return
		}
		WriteError(w, r, s.logger, stripesync.Errorf(stripesync.EINVALID, "could not read the body"))
		return
	}
	mac := hmac.New(sha256.New, []byte(cfg.Secret))
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), sig) {
		WriteError(w, r, s.logger, unsigned)
		return
	}
	ts, err := parseTriggerJSON(body, cfg.objects())
	if err != nil {
		WriteError(w, r, s.logger, err)
		return
	}
	now := time.Now().UTC()
	for i := range ts {
		ts[i].ReceivedAt = now
	}
	accepted, err := cfg.Accept(r.Context(), ts)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			s.logger.ErrorContext(r.Context(), "store triggers", "triggers", len(ts), "error", err)
		}
		WriteError(w, r, s.logger, stripesync.WrapError(stripesync.EUNAVAILABLE, err, "triggers not stored; retry"))
		return
	}
	if accepted > 0 && cfg.Accepted != nil {
		cfg.Accepted()
	}
	WriteJSON(w, http.StatusAccepted, map[string]int{"accepted": accepted})
}

// parseSignature reads "sha256=<hex>" into the 32-byte MAC it names.
func parseSignature(header string) ([]byte, bool) {
	h, ok := strings.CutPrefix(header, "sha256=")
	if !ok || len(h) != 2*sha256.Size {
		return nil, false
	}
	mac, err := hex.DecodeString(h)
	return mac, err == nil
}

// triggerRequest is the JSON trigger body.
type triggerRequest struct {
	Object string   `json:"object"`
	IDs    []string `json:"ids"`
}

// parseTriggerJSON decodes a JSON trigger body, {"object":…,"ids":[…]},
// into one Trigger per id. Everything else is EINVALID: malformed JSON,
// fields other than object and ids, anything after the object, an object
// not in objects, fewer than 1 or more than MaxTriggerIDs ids, or an id
// that is not 15 or 18 ASCII letters and digits (ids go into queries
// downstream).
func parseTriggerJSON(body []byte, objects map[string]bool) ([]stripesync.Trigger, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req triggerRequest
	if err := dec.Decode(&req); err != nil {
		return nil, stripesync.Errorf(stripesync.EINVALID, `trigger is not {"object":…,"ids":[…]}: %v`, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, stripesync.Errorf(stripesync.EINVALID, "trigger has data after its JSON object")
	}
	if !objects[req.Object] {
		return nil, stripesync.Errorf(stripesync.EINVALID, "trigger object is missing or not accepted")
	}
	if len(req.IDs) == 0 || len(req.IDs) > MaxTriggerIDs {
		return nil, stripesync.Errorf(stripesync.EINVALID, "trigger has %d ids, want 1 to %d", len(req.IDs), MaxTriggerIDs)
	}
	ts := make([]stripesync.Trigger, len(req.IDs))
	for i, id := range req.IDs {
		if !validID(id) {
			return nil, stripesync.Errorf(stripesync.EINVALID, "trigger ids[%d] is not a 15- or 18-character Salesforce id", i)
		}
		ts[i] = stripesync.Trigger{Object: req.Object, RecordID: id}
	}
	return ts, nil
}

// validID reports whether s has the shape of a Salesforce id: 15 or 18
// ASCII letters and digits.
func validID(s string) bool {
	if len(s) != 15 && len(s) != 18 {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
