package stripesync

import (
	"errors"
	"fmt"
	"testing"
)

// TestRetryableDecidesEveryCode: the one retry rule, code by code. Only a
// verdict on the input is final; bad credentials and internal errors are
// retried (within the workers' caps), as the engine always did.
func TestRetryableDecidesEveryCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{Errorf(EINVALID, "x"), false},
		{Errorf(ENOTFOUND, "x"), false},
		{Errorf(ECONFLICT, "x"), false},
		{Errorf(EUNAUTHORIZED, "x"), true},
		{Errorf(ERATELIMITED, "x"), true},
		{Errorf(ELIMIT, "x"), true},
		{Errorf(EUNAVAILABLE, "x"), true},
		{Errorf(EINTERNAL, "x"), true},
		{errors.New("plain"), true},
		{fmt.Errorf("wrapped: %w", Errorf(ENOTFOUND, "x")), false},
	} {
		if got := Retryable(tc.err); got != tc.want {
			t.Errorf("Retryable(%v [%s]) = %v, want %v", tc.err, CodeOf(tc.err), got, tc.want)
		}
	}
}
