package stripetest

import (
	"fmt"
	"net/http"
)

// apiError is Stripe's error object; it is written as {"error": {...}}.
// The payment fields are set on card errors (402) and on errors about a
// PaymentIntent's state.
type apiError struct {
	status        int
	Type          string `json:"type"`
	Code          string `json:"code,omitempty"`
	DeclineCode   string `json:"decline_code,omitempty"`
	Param         string `json:"param,omitempty"`
	Message       string `json:"message"`
	DocURL        string `json:"doc_url,omitempty"`
	Charge        string `json:"charge,omitempty"`
	PaymentIntent any    `json:"payment_intent,omitempty"`
	PaymentMethod any    `json:"payment_method,omitempty"`
	SetupIntent   any    `json:"setup_intent,omitempty"`
	RequestLogURL string `json:"request_log_url,omitempty"`
}

// The error types Stripe's API returns.
const (
	typeInvalidRequest = "invalid_request_error"
	typeAPI            = "api_error"
	typeIdempotency    = "idempotency_error"
	typeCard           = "card_error"
)

func (e *apiError) body() map[string]any { return map[string]any{"error": e} }

func docURL(code string) string {
	if code == "" {
		return ""
	}
	return "https://stripe.com/docs/error-codes/" + dashed(code)
}

func dashed(code string) string {
	b := []byte(code)
	for i, c := range b {
		if c == '_' {
			b[i] = '-'
		}
	}
	return string(b)
}

func invalidRequest(status int, code, param, format string, args ...any) *apiError {
	return &apiError{
		status:  status,
		Type:    typeInvalidRequest,
		Code:    code,
		Param:   param,
		Message: fmt.Sprintf(format, args...),
		DocURL:  docURL(code),
	}
}

// unknownParam is Stripe's answer to any parameter an endpoint does not know.
func unknownParam(name string) *apiError {
	return invalidRequest(http.StatusBadRequest, "parameter_unknown", name,
		"Received unknown parameter: %s", name)
}

// invalidParam reports a parameter whose value Stripe would refuse.
func invalidParam(code, name, format string, args ...any) *apiError {
	return invalidRequest(http.StatusBadRequest, code, name, format, args...)
}

// notEmulated refuses a parameter that Stripe knows but the emulator does not
// implement, so a test never silently relies on behaviour nobody wrote.
func notEmulated(name string) *apiError {
	return invalidRequest(http.StatusBadRequest, "emulator_unsupported", name,
		"stripetest: parameter %s exists in Stripe's API but is not emulated", name)
}

// noSuch is the 404 for a missing (or deleted) object.
func noSuch(object, id string) *apiError {
	return invalidRequest(http.StatusNotFound, "resource_missing", "id",
		"No such %s: '%s'", object, id)
}

func unrecognizedURL(method, path string) *apiError {
	return invalidRequest(http.StatusNotFound, "", "",
		"Unrecognized request URL (%s: %s). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.",
		method, path)
}

func rateLimited() *apiError {
	return invalidRequest(http.StatusTooManyRequests, "rate_limit", "",
		"Request rate limit exceeded. You can learn more about rate limits here https://stripe.com/docs/rate-limits.")
}

func internalError() *apiError {
	return &apiError{
		status:  http.StatusInternalServerError,
		Type:    typeAPI,
		Message: "An unknown error occurred",
	}
}

func unavailable() *apiError {
	return &apiError{
		status:  http.StatusServiceUnavailable,
		Type:    typeAPI,
		Message: "The Stripe API is temporarily unavailable. Please retry your request.",
	}
}
