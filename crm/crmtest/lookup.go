package crmtest

import (
	"fmt"
	"strings"
)

// convertAPI is table.convert for a REST write, which in Salesforce also
// checks every lookup it sets: a value that is not an id is MALFORMED_ID,
// an id of another object FIELD_INTEGRITY_EXCEPTION, an unknown one
// INVALID_CROSS_REFERENCE_KEY and a deleted one ENTITY_IS_DELETED. A
// 15-character id is stored in its 18-character form. The Go API (test
// seeding) is not checked, so seeds may hold dangling references. The
// caller holds s.mu.
func (s *Server) convertAPI(t *table, fields map[string]any) (map[int]any, *apiError) {
	vals, err := t.convert(fields, true)
	if err != nil {
		return nil, err
	}
	for i, f := range t.schema.fields {
		id, ok := vals[i].(string)
		if !ok || f.ref == "" {
			continue
		}
		target, ok := s.table(f.ref)
		if !ok {
			continue
		}
		bad := func(code, message string) *apiError {
			return &apiError{status: 400, code: code, message: message, fields: []string{f.name}}
		}
		if !wellFormedID(id) {
			return nil, bad("MALFORMED_ID", fmt.Sprintf("%s: id value of incorrect type: %s", f.name, id))
		}
		if !strings.HasPrefix(id, target.schema.prefix) {
			return nil, bad("FIELD_INTEGRITY_EXCEPTION", fmt.Sprintf("%s ID: id value of incorrect type: %s", target.schema.name, id))
		}
		r, ferr := target.find(id)
		switch {
		case ferr == errEntityDeleted:
			return nil, bad("ENTITY_IS_DELETED", "entity is deleted")
		case ferr != nil:
			return nil, bad("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
		}
		vals[i] = r.id()
	}
	return vals, nil
}

// wellFormedID reports whether id has the shape of a record id: 15 or 18
// letters and digits.
func wellFormedID(id string) bool {
	if len(id) != 15 && len(id) != 18 {
		return false
	}
	for _, c := range id {
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}
