package crm

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/stripesync/stripesync"
)

// Record is one sObject as JSON fields: API name → value. Values read from
// Salesforce are nil, string, bool, json.Number (never a binary float, so amounts
// stay exact) or a nested Record-shaped map for relationships; the
// "attributes" key is removed. For writes, nil sends JSON null, which
// clears the field, and a time.Time is sent in Salesforce's dateTime form.
type Record map[string]any

// writeValue converts a value for a JSON write body.
func writeValue(v any) any {
	if t, ok := v.(time.Time); ok {
		return sfDateTime(t)
	}
	return v
}

// value finds field, falling back to a case-insensitive match because
// Salesforce API names are case-insensitive.
func (r Record) value(field string) any {
	if v, ok := r[field]; ok {
		return v
	}
	for k, v := range r {
		if strings.EqualFold(k, field) {
			return v
		}
	}
	return nil
}

// String returns field as text: "" for null or absent, the decimal text of
// a number, "true"/"false" for a checkbox.
func (r Record) String(field string) string {
	switch v := r.value(field).(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

// Bool returns a checkbox field; null, absent or non-boolean is false.
func (r Record) Bool(field string) bool {
	b, _ := r.value(field).(bool)
	return b
}

// Time parses a dateTime field in the REST output form
// ("2024-05-01T12:34:56.000+0000") or RFC 3339. Null or absent is the zero
// time; anything else unparsable is EINVALID.
func (r Record) Time(field string) (time.Time, error) {
	s := r.String(field)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.000-0700", time.RFC3339Nano} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, stripesync.Errorf(stripesync.EINVALID, "salesforce field %s: %q is not a dateTime", field, s)
}

// Date parses a date field ("2024-05-31") as midnight UTC. Null or absent
// is the zero time; anything else unparsable is EINVALID.
func (r Record) Date(field string) (time.Time, error) {
	s := r.String(field)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, stripesync.Errorf(stripesync.EINVALID, "salesforce field %s: %q is not a date", field, s)
	}
	return t, nil
}

// sfDateTime formats t in the input form Salesforce accepts for dateTime
// fields.
func sfDateTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// soqlDateTime formats t as an unquoted SOQL dateTime literal, truncated
// to the second (the documented literal has no fraction); with >= this
// never skips a record stamped within that second.
func soqlDateTime(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z")
}
