package crm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/stripesync/stripesync"
)

// APIError is an error Salesforce returned: a REST error (errorCode), a
// Collections item error (statusCode), a token endpoint error ("error"),
// or a response that was not Salesforce JSON at all (Code "", e.g. an HTML
// 503 from the edge). It never holds a token or secret. Every error the
// Client returns is a *stripesync.Error; when Salesforce answered, it
// wraps an *APIError, so errors.As finds it.
type APIError struct {
	Status  int    // HTTP status of the call (200 for a Collections item)
	Code    string // errorCode, statusCode or OAuth error; "" when the body was not Salesforce JSON
	Message string
	Fields  []string
}

func (e *APIError) Error() string {
	var sb strings.Builder
	if e.Code != "" {
		sb.WriteString(e.Code)
		sb.WriteString(": ")
	}
	sb.WriteString(e.Message)
	if e.Status != 0 && e.Status != http.StatusOK {
		fmt.Fprintf(&sb, " (HTTP %d)", e.Status)
	}
	if len(e.Fields) > 0 {
		sb.WriteString(" [fields: " + strings.Join(e.Fields, ", ") + "]")
	}
	return sb.String()
}

// parseAPIError reads an error response. Salesforce REST errors are a JSON
// array; the token endpoint uses an object; the edge may send HTML.
func parseAPIError(status int, body []byte) *APIError {
	if status == http.StatusMultipleChoices {
		// Upsert by external id: the body lists the matching records.
		return &APIError{Status: status, Code: "MULTIPLE_CHOICES", Message: "more than one record has this external id"}
	}
	var arr []struct {
		Message   string   `json:"message"`
		ErrorCode string   `json:"errorCode"`
		Fields    []string `json:"fields"`
	}
	if json.Unmarshal(body, &arr) == nil && len(arr) > 0 && arr[0].ErrorCode != "" {
		return &APIError{Status: status, Code: arr[0].ErrorCode, Message: arr[0].Message, Fields: arr[0].Fields}
	}
	var obj struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &obj) == nil && obj.Error != "" {
		return &APIError{Status: status, Code: obj.Error, Message: obj.Description}
	}
	return &APIError{Status: status, Message: http.StatusText(status) + " (response was not Salesforce JSON)"}
}

// classify maps a Salesforce error to a domain code and says whether the
// client itself should retry the call.
func classify(e *APIError) (code stripesync.ErrorCode, retry bool) {
	switch e.Code {
	case "INVALID_SESSION_ID":
		return stripesync.EUNAUTHORIZED, false
	case "REQUEST_LIMIT_EXCEEDED":
		// The concurrent long-request limit clears in seconds; the daily
		// allocation does not. Neither is retried here.
		if strings.Contains(e.Message, "Concurrent") {
			return stripesync.ERATELIMITED, false
		}
		return stripesync.ELIMIT, false
	case "UNABLE_TO_LOCK_ROW", "SERVER_UNAVAILABLE", "UNKNOWN_EXCEPTION":
		return stripesync.EUNAVAILABLE, true
	case "NOT_FOUND", "ENTITY_IS_DELETED":
		return stripesync.ENOTFOUND, false
	case "MULTIPLE_CHOICES", "DUPLICATE_VALUE", "DUPLICATE_EXTERNAL_ID":
		return stripesync.ECONFLICT, false
	}
	switch {
	case e.Status >= 500 || e.Code == "":
		return stripesync.EUNAVAILABLE, true
	case e.Status == http.StatusUnauthorized:
		return stripesync.EUNAUTHORIZED, false
	case e.Status == http.StatusNotFound:
		return stripesync.ENOTFOUND, false
	}
	return stripesync.EINVALID, false
}

// domainError wraps e for op (e.g. "query Account") at the package
// boundary.
func domainError(op string, e *APIError) *stripesync.Error {
	code, _ := classify(e)
	return &stripesync.Error{Code: code, Message: "salesforce " + op, Err: e}
}

// outcome is the OnCall label of a finished request.
func outcome(e *APIError) string {
	switch {
	case e == nil:
		return "ok"
	case e.Code == "REQUEST_LIMIT_EXCEEDED":
		return "rate_limited"
	case e.Status >= 500:
		return "server_error"
	}
	return "client_error"
}
