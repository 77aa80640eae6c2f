package console

import (
	"net/http"
	"strconv"

	"github.com/stripesync/stripesync"
	"github.com/stripesync/stripesync/httpapi"
)

// failureStatuses are the lists the failures page offers.
var failureStatuses = []stripesync.FailureStatus{
	stripesync.FailureOpen, stripesync.FailureRetrying, stripesync.FailureResolved, stripesync.FailureDismissed,
}

// failuresData is the failures page.
type failuresData struct {
	Status   stripesync.FailureStatus
	Statuses []stripesync.FailureStatus
	Failures []stripesync.Failure
	Notice   string
	Error    string
}

func (failuresData) title() string { return "Payment failures" }

// failuresPage is GET /staff/failures[?status=…]: the failure inbox, open
// entries by default, newest first, with what to do next and the actions.
func (h *Handler) failuresPage(w http.ResponseWriter, r *http.Request, s session) {
	d := failuresData{Status: stripesync.FailureOpen, Statuses: failureStatuses, Notice: h.takeNotice(w, r, s.CSRF)}
	if q := stripesync.FailureStatus(r.URL.Query().Get("status")); q != "" {
		d.Status = q
	}
	list, err := h.cfg.Failures.List(r.Context(), stripesync.FailureFilter{Status: d.Status, Limit: 200})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d.Failures = list
	h.renderStaff(w, r, http.StatusOK, "failures", s, d)
}

// failureAction is POST /staff/failures/{id}/retry and …/dismiss.
func (h *Handler) failureAction(w http.ResponseWriter, r *http.Request, s session) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		h.fail(w, r, stripesync.Errorf(stripesync.ENOTFOUND, "There is no failure %q", r.PathValue("id")))
		return
	}
	var notice string
	switch r.PathValue("action") {
	case "retry":
		_, err = h.cfg.Failures.Retry(r.Context(), id, s.Staff)
		notice = "Failure " + r.PathValue("id") + " was retried and went through."
	case "dismiss":
		_, err = h.cfg.Failures.Dismiss(r.Context(), id, s.Staff, "dismissed in the console")
		notice = "Failure " + r.PathValue("id") + " was dismissed; it stays in the dismissed list."
	default:
		h.fail(w, r, stripesync.Errorf(stripesync.ENOTFOUND, "There is no such action"))
		return
	}
	if err != nil {
		if httpapi.Status(err) >= 500 {
			h.cfg.Logger.Error("console failure action", "failure_id", id, "staff", s.Staff, "error", err)
		}
		notice = "Failure " + r.PathValue("id") + ": " + staffMessage(err)
	}
	h.setNotice(w, s.CSRF, notice)
	http.Redirect(w, r, "/staff/failures", http.StatusSeeOther)
}
