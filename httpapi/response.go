package httpapi

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/stripesync/stripesync"
)

// statusOf maps each error code to the HTTP status a client should see.
// Codes missing here (EINTERNAL, and any code added later) are 500.
var statusOf = map[stripesync.ErrorCode]int{
	stripesync.EINVALID:      http.StatusBadRequest,
	stripesync.EUNAUTHORIZED: http.StatusUnauthorized,
	stripesync.ENOTFOUND:     http.StatusNotFound,
	stripesync.ECONFLICT:     http.StatusConflict,
	stripesync.EDECLINED:     http.StatusPaymentRequired,
	stripesync.ERATELIMITED:  http.StatusTooManyRequests,
	stripesync.EUNAVAILABLE:  http.StatusServiceUnavailable,
	stripesync.ELIMIT:        http.StatusServiceUnavailable,
}

// Status is the HTTP status of err: the one its code maps to, 500 for
// EINTERNAL and any code not mapped. The customers' pages answer with the
// same statuses as the API.
func Status(err error) int {
	if status, ok := statusOf[stripesync.CodeOf(err)]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    stripesync.ErrorCode `json:"code"`
	Message string               `json:"message"`
}

// WriteError answers r with err as {"error":{"code","message"}}. The status
// comes from stripesync.CodeOf(err); the message is stripesync.MessageOf(err),
// never the cause. 500s are logged with the full error, because only they
// are ours to fix; a nil logger discards the log.
func WriteError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	code := stripesync.CodeOf(err)
	status := Status(err)
	if status == http.StatusInternalServerError && logger != nil {
		logger.ErrorContext(r.Context(), "request failed",
			"method", r.Method, "route", r.Pattern, "error", err)
	}
	WriteJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: stripesync.MessageOf(err)}})
}

// WriteJSON answers with status and v encoded as JSON. Encoding errors
// are not reported: the status line is already sent, and v is always one of
// our own plain types.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	setJSONHeaders(w)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeJSONBytes answers with status and body, JSON encoded already.
func writeJSONBytes(w http.ResponseWriter, status int, body []byte) {
	setJSONHeaders(w)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func setJSONHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
}
