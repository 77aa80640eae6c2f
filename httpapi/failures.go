package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/stripesync/stripesync"
)

// FailureConfig serves the failure inbox's staff routes: GET /v1/failures,
// GET /v1/failures/{id}, POST /v1/failures/{id}/retry and …/dismiss.
type FailureConfig struct {
	// List and Get read the inbox (store.DB).
	List func(ctx context.Context, f stripesync.FailureFilter) ([]stripesync.Failure, error)
	Get  func(ctx context.Context, id int64) (stripesync.Failure, []stripesync.FailureChange, error)
	// Retry tries what failed again for staff member staff
	// (sync.Engine.RetryFailure) and returns the entry as it is after.
	Retry func(ctx context.Context, id int64, staff string) (stripesync.Failure, error)
	// Dismiss closes the entry for staff member staff, with a note.
	Dismiss func(ctx context.Context, id int64, staff, note string) (stripesync.Failure, error)
}

// failureJSON is a failure as the API shows it.
type failureJSON struct {
	ID          int64            `json:"id"`
	Source      string           `json:"source"`
	Status      string           `json:"status"`
	InvoiceID   string           `json:"invoice_id,omitempty"`
	AccountID   string           `json:"account_id,omitempty"`
	PaymentID   string           `json:"payment_id,omitempty"`
	Amount      string           `json:"amount,omitempty"`
	Currency    string           `json:"currency,omitempty"`
	Code        string           `json:"code,omitempty"`
	Message     string           `json:"message,omitempty"`
	NextStep    string           `json:"next_step"`
	Occurrences int              `json:"occurrences"`
	RetryAt     *time.Time       `json:"retry_at,omitempty"`
	Created     time.Time        `json:"created"`
	Updated     time.Time        `json:"updated"`
	History     []failureChangeJ `json:"history,omitempty"`
}

type failureChangeJ struct {
	At     time.Time `json:"at"`
	Status string    `json:"status"`
	Staff  string    `json:"staff,omitempty"`
	Note   string    `json:"note,omitempty"`
}

func failureAnswer(f stripesync.Failure, history []stripesync.FailureChange) failureJSON {
	out := failureJSON{
		ID: f.ID, Source: string(f.Source), Status: string(f.Status), InvoiceID: f.InvoiceID, AccountID: f.AccountID,
		PaymentID: f.PaymentID, Code: f.Code, Message: f.Message, NextStep: f.NextStep, Occurrences: f.Occurrences,
		Created: f.Created.UTC(), Updated: f.Updated.UTC(),
	}
	if f.Amount.Currency != "" {
		out.Amount, out.Currency = f.Amount.Decimal(), f.Amount.Currency
	}
	if !f.RetryAt.IsZero() {
		at := f.RetryAt.UTC()
		out.RetryAt = &at
	}
	for _, h := range history {
		out.History = append(out.History, failureChangeJ{At: h.At.UTC(), Status: string(h.Status), Staff: h.Staff, Note: h.Note})
	}
	return out
}

// maxFailureList bounds ?limit=.
const maxFailureList = 500

// handleFailures serves GET /v1/failures[?status=open][&invoice=ID][&limit=N]:
// the inbox, newest first.
func (s *Server) handleFailures(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	filter := stripesync.FailureFilter{Status: stripesync.FailureStatus(q.Get("status")), InvoiceID: q.Get("invoice")}
	switch filter.Status {
	case "", stripesync.FailureOpen, stripesync.FailureRetrying, stripesync.FailureResolved, stripesync.FailureDismissed:
	default:
		WriteError(w, r, s.logger, stripesync.Errorf(stripesync.EINVALID, "status must be open, retrying, resolved or dismissed"))
		return
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > maxFailureList {
			WriteError(w, r, s.logger, stripesync.Errorf(stripesync.EINVALID, "limit must be a number from 1 to %d", maxFailureList))
			return
		}
		filter.Limit = n
	}
	list, err := s.failures.List(r.Context(), filter)
	if err != nil {
		WriteError(w, r, s.logger, err)
		return
	}
	out := struct {
		Failures []failureJSON `json:"failures"`
	}{Failures: make([]failureJSON, 0, len(list))}
	for _, f := range list {
		out.Failures = append(out.Failures, failureAnswer(f, nil))
	}
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, http.StatusOK, out)
}

// failureID reads the {id} of a failure route.
func failureID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, stripesync.Errorf(stripesync.ENOTFOUND, "There is no failure %q", r.PathValue("id"))
	}
	return id, nil
}

// handleFailure serves GET /v1/failures/{id}, with the history.
func (s *Server) handleFailure(w http.ResponseWriter, r *http.Request) {
	id, err := failureID(r)
	if err != nil {
		WriteError(w, r, s.logger, err)
		return
	}
	f, history, err := s.failures.Get(r.Context(), id)
	if err != nil {
		WriteError(w, r, s.logger, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, http.StatusOK, failureAnswer(f, history))
}

// handleFailureAction serves POST /v1/failures/{id}/retry and
// /v1/failures/{id}/dismiss, both without a body: 200 with the entry as
// it is after.
func (s *Server) handleFailureAction(w http.ResponseWriter, r *http.Request) {
	id, err := failureID(r)
	if err != nil {
		WriteError(w, r, s.logger, err)
		return
	}
	var f stripesync.Failure
	switch r.PathValue("action") {
	case "retry":
		f, err = s.failures.Retry(r.Context(), id, staffOf(r))
	case "dismiss":
		f, err = s.failures.Dismiss(r.Context(), id, staffOf(r), "dismissed through the API")
	default:
		err = stripesync.Errorf(stripesync.ENOTFOUND, "no such route")
	}
	if err != nil {
		WriteError(w, r, s.logger, err)
		return
	}
	WriteJSON(w, http.StatusOK, failureAnswer(f, nil))
}
