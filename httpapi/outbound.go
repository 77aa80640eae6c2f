package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/stripesync/stripesync"
)

// OutboundCodec is the SOAP side of the Outbound Message listener,
// implemented by crm.OutboundCodec (httpapi may not import crm; cmd wires
// it).
type OutboundCodec interface {
	// Parse decodes a message body. Anything malformed or hostile
	// (a DOCTYPE, entity definitions, more than 100 notifications) is
	// EINVALID, refused without expanding anything; the error's message
	// is shown to the sender. The message has one Trigger per
	// notification, with NotificationID, Object, RecordID and ModStamp set;
	// the handler sets ReceivedAt.
	Parse(body []byte) (stripesync.OutboundMessage, error)
	// Ack is the exact notificationsResponse acknowledgement, the only
	// answer that ends Salesforce's retries.
	Ack() []byte
	// Fault is a SOAP fault envelope: soapenv:Client when client is true
	// (the message is at fault), soapenv:Server otherwise (we are).
	Fault(client bool, message string) []byte
}

// handleOutbound answers Salesforce's Outbound Messages. The order is the
// guarantee, as for the webhook: authenticate (path secret, then org id),
// check, store every notification of the message in one call, and only
// then Ack. Every refusal writes nothing and gets a SOAP fault, or the
// plain 404 of an unknown route for a wrong secret, so that the endpoint
// cannot be told apart from a missing one. Salesforce retries a message
// until it is acknowledged, so a storage failure (500) loses nothing.
func (s *Server) handleOutbound(w http.ResponseWriter, r *http.Request) {
	cfg := s.triggers
	if !secretMatches(r.PathValue("secret"), cfg.Secret) {
		WriteError(w, r, s.logger, stripesync.Errorf(stripesync.ENOTFOUND, "no such route"))
		return
	}
	limit := cfg.maxBody()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if errors.As(err, new(*http.MaxBytesError)) {
			s.writeFault(w, http.StatusRequestEntityTooLarge, true, "message exceeds the size limit")
			return
		}
		s.writeFault(w, http.StatusBadRequest, true, "could not read the message")
		return
	}
	msg, err := cfg.Outbound.Parse(body)
	if err != nil {
		s.writeFault(w, http.StatusBadRequest, true, stripesync.MessageOf(err))
		return
	}
	if cfg.OrgID == "" || !secretMatches(msg.OrganizationID, cfg.OrgID) {
		// An org id is not a secret; logging it shows a misconfigured
		// SALESFORCE_ORG_ID. Anything else the sender put there is not logged.
		org := msg.OrganizationID
		if !validID(org) {
			org = "(not an id)"
		}
		s.logger.WarnContext(r.Context(), "outbound message from another org refused",
			"org_id", org, "org_configured", cfg.OrgID != "")
		s.writeFault(w, http.StatusForbidden, true, "organization not accepted")
		return
	}
	objects := cfg.objects()
	now := time.Now().UTC()
	for i := range msg.Triggers {
		if !objects[msg.Triggers[i].Object] {
			s.writeFault(w, http.StatusBadRequest, true, "sObject type not accepted by this listener")
			return
		}
		msg.Triggers[i].ReceivedAt = now
	}
	accepted, err := cfg.Accept(r.Context(), msg.Triggers)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			s.logger.ErrorContext(r.Context(), "store outbound message",
				"notifications", len(msg.Triggers), "error", err)
		}
		s.writeFault(w, http.StatusInternalServerError, false, "notifications not stored; retry")
		return
	}
	if accepted > 0 && cfg.Accepted != nil {
		cfg.Accepted()
	}
	writeXML(w, http.StatusOK, cfg.Outbound.Ack())
}

// writeFault answers with a SOAP fault. message must be safe to show.
func (s *Server) writeFault(w http.ResponseWriter, status int, client bool, message string) {
	writeXML(w, status, s.triggers.Outbound.Fault(client, message))
}

func writeXML(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// secretMatches compares got with want in constant time. Comparing
// SHA-256 digests, not the strings, keeps the time independent of both
// the content and the length of want. An empty want matches nothing.
func secretMatches(got, want string) bool {
	if want == "" {
		return false
	}
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}
