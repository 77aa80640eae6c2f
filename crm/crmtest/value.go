package crmtest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Stored values by field type: FieldText, FieldID and FieldDate hold a
// string, FieldDecimal a canonical decimal string (no float anywhere),
// FieldBool a bool, FieldDateTime a UTC time.Time truncated to milliseconds.
// nil is null.

const (
	restDateTime = "2006-01-02T15:04:05.000-0700" // the form REST responses use
	dateLayout   = "2006-01-02"
)

// coerce converts a value from a JSON request body (decoded with UseNumber)
// or from the Go API into the stored form of f.
func coerce(f field, v any) (any, *apiError) {
	bad := func() (any, *apiError) {
		return nil, &apiError{status: 400, code: "JSON_PARSER_ERROR", fields: []string{f.name}, message: fmt.Sprintf(
			"Cannot deserialize instance of %s from value %v or request may be missing a required field", f.typ, v)}
	}
	if v == nil {
		if f.typ == FieldBool {
			return false, nil
		}
		return nil, nil
	}
	switch f.typ {
	case FieldText, FieldID:
		s, ok := v.(string)
		if !ok {
			return bad()
		}
		if s == "" {
			return nil, nil // Salesforce stores an empty text value as null
		}
		return s, nil
	case FieldDecimal:
		var s string
		switch x := v.(type) {
		case json.Number:
			s = string(x)
		case string:
			s = x
		case int:
			s = strconv.Itoa(x)
		case int64:
			s = strconv.FormatInt(x, 10)
		default:
			return bad()
		}
		d, ok := canonicalDecimal(s)
		if !ok {
			return bad()
		}
		return d, nil
	case FieldBool:
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(x); err == nil {
				return b, nil
			}
		}
		return bad()
	case FieldDate:
		switch x := v.(type) {
		case time.Time:
			return x.Format(dateLayout), nil
		case string:
			if _, err := time.Parse(dateLayout, x); err == nil {
				return x, nil
			}
		}
		return bad()
	case FieldDateTime:
		switch x := v.(type) {
		case time.Time:
			return x.UTC().Truncate(time.Millisecond), nil
		case string:
			if t, ok := parseDateTime(x); ok {
				return t, nil
			}
		}
		return bad()
	}
	return bad()
}

// parseDateTime accepts the input forms of the REST API:
// yyyy-MM-ddTHH:mm:ss[.SSS] followed by Z, ±HH:mm or ±HHmm.
func parseDateTime(s string) (time.Time, bool) {
	for _, layout := range []string{"2006-01-02T15:04:05Z07:00", "2006-01-02T15:04:05-0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC().Truncate(time.Millisecond), true
		}
	}
	return time.Time{}, false
}

// canonicalDecimal validates a plain decimal ("-12.50", "+3", ".5") and
// returns it without sign noise, leading zeros or trailing fractional zeros.
func canonicalDecimal(s string) (string, bool) {
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	ip, fp, _ := strings.Cut(s, ".")
	if ip == "" && fp == "" {
		return "", false
	}
	for _, r := range ip + fp {
		if r < '0' || r > '9' {
			return "", false
		}
	}
	ip = strings.TrimLeft(ip, "0")
	fp = strings.TrimRight(fp, "0")
	if ip == "" {
		ip = "0"
	}
	out := ip
	if fp != "" {
		out += "." + fp
	}
	if neg && out != "0" {
		out = "-" + out
	}
	return out, true
}

// cmpDecimal orders two canonical decimals exactly.
func cmpDecimal(a, b string) int {
	an, bn := strings.HasPrefix(a, "-"), strings.HasPrefix(b, "-")
	if an != bn {
		if an {
			return -1
		}
		return 1
	}
	ai, af, _ := strings.Cut(strings.TrimPrefix(a, "-"), ".")
	bi, bf, _ := strings.Cut(strings.TrimPrefix(b, "-"), ".")
	c := cmp.Compare(len(ai), len(bi))
	if c == 0 {
		c = strings.Compare(ai, bi)
	}
	if c == 0 {
		n := max(len(af), len(bf))
		c = strings.Compare(af+strings.Repeat("0", n-len(af)), bf+strings.Repeat("0", n-len(bf)))
	}
	if an {
		return -c
	}
	return c
}

// compareValues orders two non-null stored values of type t. Text compares
// case-insensitively, as SOQL does.
func compareValues(t FieldType, a, b any) int {
	switch t {
	case FieldText:
		return strings.Compare(strings.ToLower(a.(string)), strings.ToLower(b.(string)))
	case FieldID, FieldDate:
		return strings.Compare(a.(string), b.(string))
	case FieldDecimal:
		return cmpDecimal(a.(string), b.(string))
	case FieldBool:
		ab, bb := a.(bool), b.(bool)
		switch {
		case ab == bb:
			return 0
		case bb:
			return -1
		}
		return 1
	case FieldDateTime:
		return a.(time.Time).Compare(b.(time.Time))
	}
	return 0
}

// appendJSONValue renders a stored value as the REST API does.
func appendJSONValue(buf []byte, t FieldType, v any) []byte {
	if v == nil {
		return append(buf, "null"...)
	}
	switch t {
	case FieldDecimal:
		buf = append(buf, v.(string)...)
		if !strings.Contains(v.(string), ".") {
			buf = append(buf, ".0"...)
		}
		return buf
	case FieldBool:
		return strconv.AppendBool(buf, v.(bool))
	case FieldDateTime:
		return appendJSONString(buf, v.(time.Time).Format(restDateTime))
	}
	return appendJSONString(buf, v.(string))
}

// appendJSONString quotes s as a JSON string without allocating; invalid
// UTF-8 becomes U+FFFD, as encoding/json does.
func appendJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			buf = append(buf, '\\', byte(r))
		case r == '\n':
			buf = append(buf, '\\', 'n')
		case r == '\r':
			buf = append(buf, '\\', 'r')
		case r == '\t':
			buf = append(buf, '\\', 't')
		case r < 0x20 || r == '\u2028' || r == '\u2029':
			buf = append(buf, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		default:
			buf = utf8.AppendRune(buf, r)
		}
	}
	return append(buf, '"')
}
