package httpapi

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
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
	// Take charges a staff payment (sync.Collection.StaffPay) and returns
	// it with the method it was taken with.
	Take func(ctx context.Context, r PaymentRequest) (p stripesync.Payment, paymentMethodID string, err error)
	// Verify reports the micro-deposits of the bank account
	// paymentMethodID for staff member staff (sync.Collection.VerifyBank).
	Verify func(ctx context.Context, paymentMethodID, staff string, v stripesync.MicrodepositVerification) (stripesync.Payment, error)
	// Requests remembers the answers by Idempotency-Key (store.DB).
	Requests stripesync.IdempotentRequests
	// ResendReceipt e-mails a payment's receipt again for staff member
	// staff and returns the address it went to.
	ResendReceipt func(ctx context.Context, paymentID, staff string) (email string, err error)
	// ReceiptURL links a succeeded payment's receipt; nil leaves it out.
	ReceiptURL func(paymentID string) string
	// FingerprintKey keys the digest of a request's body kept to tell
	// its replay from another request (see paymentBody.fingerprint): a
	// secret, the same on every replica and across restarts, or a replay
	// after one would be taken for a reuse of the key.
	FingerprintKey []byte
}

// PaymentRequest is a staff payment as the API received it.
type PaymentRequest struct {
	InvoiceID, Staff, RequestKey string
	Amount                       string // decimal, in the invoice's currency
	// PaymentMethodID or Bank, exactly one.
	PaymentMethodID string
	Bank            *stripesync.BankAccountDetails
}

// paymentBody is the JSON body of POST /v1/invoices/{id}/payments: an
// amount and either a payment method or bank details.
type paymentBody struct {
	Amount        string   `json:"amount"`
	PaymentMethod string   `json:"payment_method"`
	ACH           *achBody `json:"ach"`
}

// achBody is a US bank account as staff typed it in.
type achBody struct {
	RoutingNumber     string `json:"routing_number"`
	AccountNumber     string `json:"account_number"`
	AccountHolderType string `json:"account_holder_type"`
	AccountHolderName string `json:"account_holder_name"`
}

// fingerprint identifies what the body asks for, to tell a replay from a
// reuse of its Idempotency-Key with other parameters. Only this digest of
// a bank account number is stored, never the number, and the stored
// requests are pruned after a day. It is an HMAC under key
// (PaymentConfig.FingerprintKey): account numbers are short enough that a
// plain hash could be reversed by trying them all.
func (b paymentBody) fingerprint(key []byte, method, path string) string {
	h := hmac.New(sha256.New, key)
	fmt.Fprintf(h, "%s %s\n%s\n%s\n", method, path, b.Amount, b.PaymentMethod)
	if a := b.ACH; a != nil {
		fmt.Fprintf(h, "ach\n%s\n%s\n%s\n%s\n", a.RoutingNumber, a.AccountNumber, a.AccountHolderType, a.AccountHolderName)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// paymentBodyShape is the error for a body that is not a payment.
const paymentBodyShape = `the body must be {"amount": "25.00", "payment_method": "pm_…"} or {"amount": "25.00", "ach": ` +
	`{"routing_number": "…", "account_number": "…", "account_holder_type": "individual|company", "account_holder_name": "…"}}`

// paymentResponse is the answer to a payment that went through (or is on
// its way: a bank debit processing or awaiting verification).
type paymentResponse struct {
	ID        string `json:"id"`
	InvoiceID string `json:"invoice_id"`
	Amount    string `json:"amount"`
	Currency  string `json:"currency"`
	Status    string `json:"status"`
	Method    string `json:"method,omitempty"`
	// PaymentMethod is what a bank account awaiting verification is
	// verified by (POST /v1/payment-methods/{id}/verify).
	PaymentMethod string `json:"payment_method,omitempty"`
	// NextStep says what staff do next, in plain words, when the payment
	// is not done yet.
	NextStep   string `json:"next_step,omitempty"`
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
	if err := dec.Decode(&body); err != nil || dec.More() || body.Amount == "" || (body.PaymentMethod == "") == (body.ACH == nil) {
		WriteError(w, r, s.logger, stripesync.Errorf(stripesync.EINVALID, paymentBodyShape))
		return
	}
	invoiceID := r.PathValue("id")
	fingerprint := body.fingerprint(s.payments.FingerprintKey, r.Method, r.URL.Path)

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

	req := PaymentRequest{
		InvoiceID: invoiceID, Staff: staffName, RequestKey: key,
		Amount: body.Amount, PaymentMethodID: body.PaymentMethod,
	}
	if a := body.ACH; a != nil {
		req.Bank = &stripesync.BankAccountDetails{
			RoutingNumber: a.RoutingNumber, AccountNumber: a.AccountNumber,
			HolderType: a.AccountHolderType, HolderName: a.AccountHolderName,
		}
	}
	status, answer := s.takePayment(ctx, r, req)
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
	p, methodID, err := s.payments.Take(ctx, req)
	if err != nil {
		var out bufferedResponse
		WriteError(&out, r, s.logger, err)
		return out.status, out.body.Bytes()
	}
	b, _ := json.Marshal(s.paymentAnswer(p, methodID))
	return http.StatusCreated, append(b, '\n')
}

// paymentAnswer is the JSON answer for payment p, taken with method
// methodID.
func (s *Server) paymentAnswer(p stripesync.Payment, methodID string) paymentResponse {
	resp := paymentResponse{
		ID: p.ID, InvoiceID: p.InvoiceID, Amount: p.Amount.Decimal(), Currency: p.Amount.Currency,
		Status: string(p.Status), Method: p.MethodDetail, PaymentMethod: methodID,
	}
	switch p.Status {
	case stripesync.PaymentSucceeded:
		if s.payments.ReceiptURL != nil {
			resp.ReceiptURL = s.payments.ReceiptURL(p.ID)
		}
	case stripesync.PaymentAwaitingVerification:
		resp.NextStep = stripesync.NextStepVerify
	case stripesync.PaymentProcessing:
		resp.NextStep = stripesync.NextStepSettle
	}
	return resp
}

// maxVerifyBody bounds the body of POST /v1/payment-methods/{id}/verify.
const maxVerifyBody = 1 << 10

// verifyBody is the JSON body of POST /v1/payment-methods/{id}/verify.
type verifyBody struct {
	Amounts        []int64 `json:"amounts"`
	DescriptorCode string  `json:"descriptor_code"`
}

// handleVerify serves POST /v1/payment-methods/{id}/verify: the
// micro-deposits the customer read back for a bank account staff entered.
// 200 with the payment, processing now; 400 for values that do not match,
// with the attempts left; 402 when the last attempt failed the payment.
// An attempt is idempotent by its values, so no Idempotency-Key is asked.
func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request) {
	var body verifyBody
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxVerifyBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || dec.More() {
		WriteError(w, r, s.logger, stripesync.Errorf(stripesync.EINVALID, `the body must be {"amounts": [32, 45]} or {"descriptor_code": "SM11AA"}`))
		return
	}
	methodID := r.PathValue("id")
	p, err := s.payments.Verify(r.Context(), methodID, staffOf(r),
		stripesync.MicrodepositVerification{Amounts: body.Amounts, DescriptorCode: body.DescriptorCode})
	if err != nil {
		WriteError(w, r, s.logger, err)
		return
	}
	WriteJSON(w, http.StatusOK, s.paymentAnswer(p, methodID))
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
