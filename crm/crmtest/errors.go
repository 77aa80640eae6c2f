package crmtest

import (
	"encoding/json"
	"net/http"
)

// apiError is a Salesforce REST error: written as a top-level JSON array
// [{"message","errorCode","fields"}] with its status, or as a per-item
// {"statusCode","message","fields"} inside a Collections result.
type apiError struct {
	status  int
	code    string
	message string
	fields  []string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

var (
	errNotFound       = &apiError{status: 404, code: "NOT_FOUND", message: "The requested resource does not exist"}
	errEntityDeleted  = &apiError{status: 404, code: "ENTITY_IS_DELETED", message: "entity is deleted"}
	errInvalidSession = &apiError{status: 401, code: "INVALID_SESSION_ID", message: "Session expired or invalid"}
	errRequestLimit   = &apiError{status: 403, code: "REQUEST_LIMIT_EXCEEDED", message: "TotalRequests Limit exceeded."}
)

const contentTypeJSON = "application/json;charset=UTF-8"

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeRawJSON(w, status, body)
}

func writeRawJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", contentTypeJSON)
	w.WriteHeader(status)
	w.Write(body)
}

// restError is the element of a top-level REST error array.
type restError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields,omitempty"`
}

func writeAPIError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, []restError{{Message: e.message, ErrorCode: e.code, Fields: e.fields}})
}

// itemError is an error inside a Collections result; note statusCode, not
// errorCode, and fields always present.
type itemError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

func toItemError(e *apiError) itemError {
	fields := e.fields
	if fields == nil {
		fields = []string{}
	}
	return itemError{StatusCode: e.code, Message: e.message, Fields: fields}
}
