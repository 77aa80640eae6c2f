package httpapi

import (
	"net/http"
	"strings"

	"github.com/stripesync/stripesync"
)

// handleReceiptPDF serves GET /receipts/{token}.pdf. The token is signed,
// so knowing one receipt's link reveals nothing about another's.
func (s *Server) handleReceiptPDF(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutSuffix(r.PathValue("file"), ".pdf")
	if !ok || token == "" {
		WriteError(w, r, s.logger, stripesync.Errorf(stripesync.ENOTFOUND, "no such receipt"))
		return
	}
	pdf, err := s.receipt(r.Context(), token)
	if err != nil {
		if stripesync.CodeOf(err) == stripesync.EINVALID {
			// A forged or mangled token is simply not a receipt.
			err = stripesync.Errorf(stripesync.ENOTFOUND, "no such receipt")
		}
		WriteError(w, r, s.logger, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `inline; filename="receipt.pdf"`)
	w.Header().Set("Cache-Control", "private, no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(pdf)
}
