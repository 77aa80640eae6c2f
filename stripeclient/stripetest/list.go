package stripetest

import (
	"net/http"
	"strconv"
)

// listObject is Stripe's list envelope.
type listObject struct {
	Object  string `json:"object"`
	URL     string `json:"url"`
	HasMore bool   `json:"has_more"`
	Data    []any  `json:"data"`
}

// listParams are the cursor parameters every list endpoint takes.
var listParams = map[string]param{
	"limit":          {kind: kInt},
	"starting_after": {kind: kString},
	"ending_before":  {kind: kString},
}

// checkLimit enforces Stripe's 1–100 page size.
func checkLimit(f form) *apiError {
	if v, ok := f.str("limit"); ok && v != "" {
		if n := f.int("limit", 0); n < 1 || n > 100 {
			return invalidParam("parameter_invalid_integer", "limit",
				"This value must be greater than or equal to 1 and less than or equal to 100.")
		}
	}
	return nil
}

func checkList(f form) *apiError {
	if err := checkLimit(f); err != nil {
		return err
	}
	a, _ := f.str("starting_after")
	b, _ := f.str("ending_before")
	if a != "" && b != "" {
		return invalidParam("", "ending_before",
			"You may only specify one of these parameters: ending_before, starting_after.")
	}
	return nil
}

// paginate returns the page of items (ordered newest first) that the
// cursor parameters in f select, and whether more items lie beyond it in the
// direction of travel. object names the resource in a bad-cursor error.
func paginate[T any](items []T, id func(T) string, f form, object string) ([]T, bool, *apiError) {
	limit := int(f.int("limit", 10))
	find := func(param, cursor string) (int, *apiError) {
		for i, it := range items {
			if id(it) == cursor {
				return i, nil
			}
		}
		return 0, invalidRequest(http.StatusBadRequest, "resource_missing", param,
			"No such %s: '%s'", object, cursor)
	}
	if c, _ := f.str("starting_after"); c != "" {
		i, err := find("starting_after", c)
		if err != nil {
			return nil, false, err
		}
		rest := items[i+1:]
		if len(rest) > limit {
			return rest[:limit], true, nil
		}
		return rest, false, nil
	}
	if c, _ := f.str("ending_before"); c != "" {
		i, err := find("ending_before", c)
		if err != nil {
			return nil, false, err
		}
		from := max(0, i-limit)
		return items[from:i], from > 0, nil
	}
	if len(items) > limit {
		return items[:limit], true, nil
	}
	return items, false, nil
}

// inRange applies a created-style filter (an integer, or gt/gte/lt/lte).
func inRange(v any, x int64) bool {
	switch v := v.(type) {
	case string:
		if v == "" {
			return true
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		return x == n
	case form:
		for op, raw := range v {
			n, _ := strconv.ParseInt(raw.(string), 10, 64)
			if raw == "" {
				continue
			}
			switch {
			case op == "gt" && !(x > n), op == "gte" && !(x >= n),
				op == "lt" && !(x < n), op == "lte" && !(x <= n):
				return false
			}
		}
	}
	return true
}
