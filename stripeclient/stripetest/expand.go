package stripetest

import (
	"net/http"
	"slices"
)

// expansions returns the expand[] paths of f. Only the paths in allowed are
// emulated; any other is refused rather than silently left a string id.
func expansions(f form, allowed ...string) (map[string]bool, *apiError) {
	list, _ := f["expand"].([]string)
	out := make(map[string]bool, len(list))
	for _, e := range list {
		if !slices.Contains(allowed, e) {
			return nil, invalidRequest(http.StatusBadRequest, "emulator_unsupported", "expand",
				"stripetest: expand[] of %s is not emulated on this endpoint", e)
		}
		out[e] = true
	}
	return out, nil
}

// checkNoExpand refuses any expand[] on an endpoint that emulates none.
func checkNoExpand(f form) *apiError {
	_, err := expansions(f)
	return err
}
