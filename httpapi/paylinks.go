package httpapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/stripesync/stripesync"
)

// maxLinkBody bounds the body of POST /v1/invoices/{id}/payment-link.
const maxLinkBody = 4 << 10

// linkRequest is the optional body of POST /v1/invoices/{id}/payment-link.
type linkRequest struct {
	Email bool `json:"email"`
}

// linkResponse is the answer to the link routes.
type linkResponse struct {
	InvoiceID string    `json:"invoice_id,omitempty"`
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
	Emailed   *bool     `json:"emailed,omitempty"`
}

// handleIssuePaymentLink serves POST /v1/invoices/{id}/payment-link: 201
// with the new link. An Idempotency-Key header keys the mail, so a
// retried request sends one message; without it every request is its own.
func (s *Server) handleIssuePaymentLink(w http.ResponseWriter, r *http.Request) {
	var req linkRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxLinkBody))
	if err != nil {
		WriteError(w, r, s.logger, stripesync.Errorf(stripesync.EINVALID, "the request body is too large or unreadable"))
		return
	}
	if len(bytes.TrimSpace(body)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil || dec.More() {
			WriteError(w, r, s.logger, stripesync.Errorf(stripesync.EINVALID, `the body must be empty or {"email": true|false}`))
			return
		}
	}
	requestID := r.Header.Get("Idempotency-Key")
	if err := checkIdempotencyKey(requestID); err != nil {
		WriteError(w, r, s.logger, err)
		return
	}
	id := r.PathValue("id")
	l, err := s.links.Issue(r.Context(), LinkRequest{InvoiceID: id, Email: req.Email, RequestID: requestID, Staff: staffOf(r)})
	if err != nil {
		WriteError(w, r, s.logger, err)
		return
	}
	emailed := l.Emailed
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, http.StatusCreated, linkResponse{InvoiceID: id, URL: l.URL, ExpiresAt: l.ExpiresAt.UTC(), Emailed: &emailed})
}

// handleRevokePaymentLink serves DELETE /v1/invoices/{id}/payment-link:
// 204 once every link issued so far stopped working.
func (s *Server) handleRevokePaymentLink(w http.ResponseWriter, r *http.Request) {
	if err := s.links.Revoke(r.Context(), r.PathValue("id")); err != nil {
		WriteError(w, r, s.logger, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handlePortalLink serves POST /v1/accounts/{id}/portal-link.
func (s *Server) handlePortalLink(w http.ResponseWriter, r *http.Request) {
	l, err := s.links.Portal(r.Context(), r.PathValue("id"))
	if err != nil {
		WriteError(w, r, s.logger, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, http.StatusOK, linkResponse{URL: l.URL, ExpiresAt: l.ExpiresAt.UTC()})
}
