package stripetest

import (
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// kind is the shape of an accepted request parameter.
type kind int

const (
	kString kind = iota
	kInt
	kBool
	kObject // fixed children: address[line1]
	kMap    // free string keys: metadata[crm_account_id]
	kList   // list of strings: preferred_locales[0], expand[]
	kRange  // integer or gt/gte/lt/lte object: created, created[gte]
	kItems  // indexed list of objects with fixed children: line_items[0][quantity]
)

// param describes one accepted parameter; children is set for kObject and
// kItems (the fields of each item).
type param struct {
	kind     kind
	children map[string]param
}

// form is a decoded request. Values are a string for scalars (already
// checked against their kind), a form for objects and maps, a []string for
// lists, a []form for lists of objects (in index order), and "" for an
// object, map or list sent empty, which Stripe reads as "unset".
type form map[string]any

// decode turns form values into a form tree, accepting only the parameters
// in spec. Like Stripe it refuses anything unknown, so a typo in a client
// fails in tests instead of being silently ignored in production. Top-level
// names in skip are Stripe parameters the emulator does not implement; they
// are refused too, with a message that says so.
func decode(values url.Values, spec map[string]param, skip []string) (form, *apiError) {
	out := form{}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, key := range keys {
		segs, ok := splitKey(key)
		if !ok {
			return nil, unknownParam(key)
		}
		if slices.Contains(skip, segs[0]) {
			return nil, notEmulated(segs[0])
		}
		if err := place(out, spec, segs, values[key], ""); err != nil {
			return nil, err
		}
	}
	finishLists(out)
	return out, nil
}

// splitKey splits "a[b][]" into ["a", "b", ""].
func splitKey(key string) ([]string, bool) {
	name, rest, _ := strings.Cut(key, "[")
	if name == "" || strings.Contains(name, "]") {
		return nil, false
	}
	segs := []string{name}
	if len(key) == len(name) {
		return segs, true
	}
	rest = "[" + rest
	for rest != "" {
		if rest[0] != '[' {
			return nil, false
		}
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return nil, false
		}
		seg := rest[1:end]
		if strings.ContainsAny(seg, "[") {
			return nil, false
		}
		segs = append(segs, seg)
		rest = rest[end+1:]
	}
	return segs, true
}

func bracketed(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "[" + name + "]"
}

// listAcc collects list items while decoding; indexed items are ordered by
// index, [] items keep the order they were sent in.
type listAcc struct {
	indexed  map[int]string
	appended []string
}

func place(dst form, spec map[string]param, segs, vs []string, prefix string) *apiError {
	name := segs[0]
	full := bracketed(prefix, name)
	p, ok := spec[name]
	if !ok {
		return unknownParam(full)
	}
	rest := segs[1:]
	last := vs[len(vs)-1]
	switch p.kind {
	case kString, kInt, kBool:
		if len(rest) > 0 {
			return unknownParam(bracketed(full, rest[0]))
		}
		if err := checkScalar(p.kind, full, last); err != nil {
			return err
		}
		dst[name] = last
	case kObject, kMap:
		if len(rest) == 0 {
			if last != "" {
				return invalidParam("parameter_invalid_empty", full, "Invalid object")
			}
			dst[name] = ""
			return nil
		}
		child, ok := dst[name].(form)
		if !ok {
			child = form{}
			dst[name] = child
		}
		if p.kind == kObject {
			return place(child, p.children, rest, vs, full)
		}
		if len(rest) > 1 || rest[0] == "" {
			return invalidParam("", bracketed(full, rest[0]), "Invalid hash")
		}
		child[rest[0]] = last
	case kRange:
		if len(rest) == 0 {
			if err := checkScalar(kInt, full, last); err != nil {
				return err
			}
			dst[name] = last
			return nil
		}
		op := rest[0]
		if len(rest) > 1 || (op != "gt" && op != "gte" && op != "lt" && op != "lte") {
			return unknownParam(bracketed(full, op))
		}
		if err := checkScalar(kInt, bracketed(full, op), last); err != nil {
			return err
		}
		child, ok := dst[name].(form)
		if !ok {
			child = form{}
			dst[name] = child
		}
		child[op] = last
	case kItems:
		if len(rest) == 0 {
			if last != "" {
				return invalidParam("", full, "Invalid array")
			}
			dst[name] = ""
			return nil
		}
		i, err := strconv.Atoi(rest[0])
		if err != nil || i < 0 || len(rest) < 2 {
			return invalidParam("", full, "Invalid array")
		}
		acc, ok := dst[name].(*itemsAcc)
		if !ok {
			acc = &itemsAcc{}
			dst[name] = acc
		}
		item, ok := acc.items[i]
		if !ok {
			if acc.items == nil {
				acc.items = map[int]form{}
			}
			item = form{}
			acc.items[i] = item
		}
		return place(item, p.children, rest[1:], vs, bracketed(full, rest[0]))
	case kList:
		if len(rest) == 0 {
			if last != "" {
				return invalidParam("", full, "Invalid array")
			}
			dst[name] = ""
			return nil
		}
		if len(rest) > 1 {
			return unknownParam(bracketed(bracketed(full, rest[0]), rest[1]))
		}
		acc, ok := dst[name].(*listAcc)
		if !ok {
			acc = &listAcc{indexed: map[int]string{}}
			dst[name] = acc
		}
		if rest[0] == "" {
			acc.appended = append(acc.appended, vs...)
			return nil
		}
		i, err := strconv.Atoi(rest[0])
		if err != nil || i < 0 {
			return invalidParam("", full, "Invalid array")
		}
		acc.indexed[i] = last
	}
	return nil
}

func checkScalar(k kind, name, v string) *apiError {
	if v == "" {
		return nil
	}
	switch k {
	case kInt:
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return invalidParam("parameter_invalid_integer", name, "Invalid integer: %s", v)
		}
	case kBool:
		if v != "true" && v != "false" {
			return invalidParam("", name, "Invalid boolean: %s", v)
		}
	}
	return nil
}

// itemsAcc collects the items of a kItems list while decoding.
type itemsAcc struct {
	items map[int]form
}

func finishLists(f form) {
	for k, v := range f {
		switch v := v.(type) {
		case form:
			finishLists(v)
		case *itemsAcc:
			idx := slices.Sorted(maps.Keys(v.items))
			items := make([]form, 0, len(idx))
			for _, i := range idx {
				finishLists(v.items[i])
				items = append(items, v.items[i])
			}
			f[k] = items
		case *listAcc:
			idx := make([]int, 0, len(v.indexed))
			for i := range v.indexed {
				idx = append(idx, i)
			}
			slices.Sort(idx)
			items := make([]string, 0, len(idx)+len(v.appended))
			for _, i := range idx {
				items = append(items, v.indexed[i])
			}
			f[k] = append(items, v.appended...)
		}
	}
}

// str returns a scalar parameter and whether it was sent.
func (f form) str(name string) (string, bool) {
	v, ok := f[name].(string)
	return v, ok
}

// int returns an integer parameter (already validated by decode); def when
// it was not sent or sent empty.
func (f form) int(name string, def int64) int64 {
	v, _ := f[name].(string)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return def
	}
	return n
}

// maxBody bounds request bodies; Stripe's own limit is far larger than any
// request the daemon makes.
const maxBody = 1 << 20

// readValues returns the query parameters merged with a form-encoded body.
// stripe-go puts GET parameters in the query and everything else in the body.
func readValues(r *http.Request) (url.Values, *apiError) {
	values := r.URL.Query()
	if r.Body == nil {
		return values, nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	if err != nil {
		return nil, invalidRequest(http.StatusBadRequest, "", "", "Could not read the request body.")
	}
	if len(body) == 0 {
		return values, nil
	}
	bv, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, invalidRequest(http.StatusBadRequest, "", "",
			"Invalid request body: it must be application/x-www-form-urlencoded.")
	}
	for k, vs := range bv {
		values[k] = append(values[k], vs...)
	}
	return values, nil
}
