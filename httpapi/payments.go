package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/stripesync/stripesync"
)

// maxPaymentBody bounds the body of POST /v1/invoices/{id}/payments.
const maxPaymentBody = 4 << 10

// abandonedAfter is when a request that claimed an Idempotency-Key and
// never answered is taken to be dead, so that a retry may serve it: far
// beyond any Stripe call the request makes (the client gives up on those
// within a minute), and short enough for a caller retrying after a crash.
const abandonedAfter = 2 * time.Minute

// PaymentConfig serves the staff's invoice routes: GET /v1/invoices/{id}
// and POST /v1/invoices/{id}/payments, the phone payments.
type PaymentConfig struct {
	// View loads an invoice as staff member staff sees it.
	View func(ctx context.Context, invoiceID, staff string) (InvoiceDetail, error)
	// Take charges a staff payment (sync.Collection.StaffPay).
	Take func(ctx context.Context, r PaymentRequest) (stripesync.Payment, error)
	// Requests remembers the answers by Idempotency-Key (store.DB).
	Requests stripesync.IdempotentRequests
	// ResendReceipt e-mails a payment's receipt again for staff member
	// staff and returns the address it went to.
	ResendReceipt func(ctx context.Context, paymentID, staff string) (email string, err error)
	// ReceiptURL links a succeeded payment's receipt; nil leaves it out.
	ReceiptURL func(paymentID string) string
}

// PaymentRequest is a staff payment as the API received it.
type PaymentRequest struct {
	InvoiceID, Staff, RequestKey string
	Amount                       string // decimal, in the invoice's currency
	PaymentMethodID              string
}

// paymentBody is the JSON body of POST /v1/invoices/{id}/payments.
type paymentBody struct {
	Amount        string `json:"amount"`
	PaymentMethod string `json:"payment_method"`
}

// paymentResponse is the answer to a payment that went through (or is on
// its way: a bank debit processing or awaiting verification).
type paymentResponse struct {
	ID         string `json:"id"`
	InvoiceID  string `json:"invoice_id"`
	Amount     string `json:"amount"`
	Currency   string `json:"currency"`
	Status     string `json:"status"`
	Method     string `json:"method,omitempty"`
	ReceiptURL string `json:"receipt_url,omitempty"`
}

// handlePayment serves POST /v1/invoices/{id}/payments. The
// Idempotency-Key header is required: the first request with a key is
// served and its answer stored; a retry with the same key and body gets
// that answer again (Idempotent-Replayed: true), one with another body 409,
// one while the first is still being served 409. An answer whose outcome
// is unknown (5xx) is not stored, so a retry is served afresh, and the
// Stripe idempotency key derived from the request's keeps it from paying
// twice.
func (s *Server) handlePayment(w http.ResponseWriter, r *http.Request) {
	staffName := staffOf(r)
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		WriteError(w, r, s.logger, stripesync.Errorf(stripesync.EINVALID, "an Idempotency-Key header is required: one per payment, reused only to retry it"))
		return
	}
	if err := checkIdempotencyKey(key); err != nil {
		WriteError(w, r, s.logger, err)
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPaymentBody))
	if err != nil {
		WriteError(w, r, s.logger, stripesync.Errorf(stripesync.EINVALID, "the request body is too large or unreadable"))
		return
	}
	var body paymentBody
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || dec.More() || body.Amount == "" || body.PaymentMethod == "" {
		WriteError(w, r, s.logger, stripesync.Errorf(stripesync.EINVALID, `the body must be {"amount": "25.00", "payment_method": "pm_…"}`))
		return
	}
	invoiceID := r.PathValue("id")
	sum := sha256.Sum256([]byte(r.Method + " " + r.URL.Path + "\n" + body.Amount + "\n" + body.PaymentMethod))
	fingerprint := hex.EncodeToString(sum[:])

	ctx := r.Context()
	prev, claimed, err := s.payments.Requests.ClaimRequest(ctx, staffName, key, fingerprint, time.Now(), abandonedAfter)
	switch {
	case err != nil:
		WriteError(w, r, s.logger, err)
		return
	case !claimed && prev.Fingerprint != fingerprint:
		WriteError(w, r, s.logger, stripesync.Errorf(stripesync.ECONFLICT, "this Idempotency-Key was used with other parameters; use a new key for a new payment"))
		return
	case !claimed && !prev.Complete:
		WriteError(w, r, s.logger, stripesync.Errorf(stripesync.ECONFLICT, "a request with this Idempotency-Key is still being served; retry in a moment"))
		return
	case !claimed:
		w.Header().Set("Idempotent-Replayed", "true")
		writeJSONBytes(w, prev.Status, prev.Body)
		return
	}

	status, answer := s.takePayment(ctx, r, PaymentRequest{
		InvoiceID: invoiceID, Staff: staffName, RequestKey: key,
		Amount: body.Amount, PaymentMethodID: body.PaymentMethod,
	})
	// The answer is stored even when the caller has gone, hence a context
	// the request's end does not cancel.
	store := context.WithoutCancel(ctx)
	if status >= 500 {
		if err := s.payments.Requests.ReleaseRequest(store, staffName, key); err != nil {
			s.logger.Warn("release idempotent request", "error", err)
		}
	} else if err := s.payments.Requests.CompleteRequest(store, staffName, key, status, answer, time.Now()); err != nil {
		// Charged but not remembered: a retry is served again, and the
		// Stripe idempotency key returns the same PaymentIntent.
		s.logger.Warn("store idempotent response", "error", err)
	}
	writeJSONBytes(w, status, answer)
}

// handleResendReceipt serves POST /v1/payments/{id}/resend-receipt: 200
// with the address once the mail server accepted the receipt.
func (s *Server) handleResendReceipt(w http.ResponseWriter, r *http.Request) {
	email, err := s.payments.ResendReceipt(r.Context(), r.PathValue("id"), staffOf(r))
	if err != nil {
		WriteError(w, r, s.logger, err)
		return
	}
	WriteJSON(w, http.StatusOK, map[string]string{"payment_id": r.PathValue("id"), "sent_to": email})
}

// takePayment runs the payment and returns the status and JSON body of its
// answer.
func (s *Server) takePayment(ctx context.Context, r *http.Request, req PaymentRequest) (int, []byte) {
	p, err := s.payments.Take(ctx, req)
	if err != nil {
		var out bufferedResponse
		WriteError(&out, r, s.logger, err)
		return out.status, out.body.Bytes()
	}
	resp := paymentResponse{
		ID: p.ID, InvoiceID: req.InvoiceID, Amount: p.Amount.Decimal(), Currency: p.Amount.Currency,
		Status: string(p.Status), Method: p.MethodDetail,
	}
	if p.Status == stripesync.PaymentSucceeded && s.payments.ReceiptURL != nil {
		resp.ReceiptURL = s.payments.ReceiptURL(p.ID)
	}
	b, _ := json.Marshal(resp)
	return http.StatusCreated, append(b, '\n')
}

// checkIdempotencyKey accepts what Stripe accepts: at most 255 printable
// ASCII characters.
func checkIdempotencyKey(key string) error {
	if len(key) > 255 || strings.ContainsFunc(key, func(c rune) bool { return c <= ' ' || c > '~' }) {
		return stripesync.Errorf(stripesync.EINVALID, "Idempotency-Key must be at most 255 printable ASCII characters")
	}
	return nil
}

// bufferedResponse keeps an answer in memory, so that it can be stored
// before it is sent.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header {
	if b.header == nil {
		b.header = http.Header{}
	}
	return b.header
}
func (b *bufferedResponse) WriteHeader(status int)      { b.status = status }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }
