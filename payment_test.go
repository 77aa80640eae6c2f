package stripesync

import "testing"

// Within one charge attempt a state only moves forward: a bank debit goes
// from pending to awaiting verification to processing to an end, and no
// stale delivery of an earlier state overwrites a later one.
func TestPaymentStatusesMoveForward(t *testing.T) {
	order := []PaymentStatus{PaymentPending, PaymentAwaitingVerification, PaymentProcessing, PaymentFailed, PaymentSucceeded}
	for i, earlier := range order {
		for _, later := range order[i+1:] {
			old, p := Payment{Status: earlier}, Payment{Status: later}
			if !p.Supersedes(old) {
				t.Errorf("%s does not supersede %s", later, earlier)
			}
			if old.Supersedes(p) {
				t.Errorf("%s supersedes %s", earlier, later)
			}
		}
	}
}
