package crmtest

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// record is one row; vals is indexed like its schema's fields. A slice of
// typed values instead of a map keeps 100,000 seeded accounts affordable.
type record struct{ vals []any }

func (r *record) id() string    { return r.vals[idxID].(string) }
func (r *record) deleted() bool { return r.vals[idxIsDeleted].(bool) }

// table holds the rows of one sObject. Rows are never removed (deletes are
// soft), so rows keeps insertion order, which is also id order.
type table struct {
	schema *schema
	rows   []*record
	byID   map[string]*record
	// ext indexes External ID fields: field index → lower-cased value →
	// rows holding it (deleted ones included). Salesforce matches external
	// ids case-insensitively by default.
	ext  map[int]map[string][]*record
	live int
	seq  int64
	// onWrite is called for every row inserted or updated and not deleted
	// (AddOutbound's OnWrite), under the server's write lock, with the
	// row's values before the save (nil for an insert) so that a rule's
	// criteria can tell what changed.
	onWrite []func(old []any, r *record)
}

func newTable(s *schema) *table {
	t := &table{schema: s, byID: map[string]*record{}, ext: map[int]map[string][]*record{}}
	for i, f := range s.fields {
		if f.external {
			t.ext[i] = map[string][]*record{}
		}
	}
	return t
}

// convert checks and converts named values. api marks a REST write, which
// may not set platform-maintained fields; the Go API (test seeding) may.
func (t *table) convert(fields map[string]any, api bool) (map[int]any, *apiError) {
	names := make([]string, 0, len(fields))
	for n := range fields {
		if n != "attributes" {
			names = append(names, n)
		}
	}
	slices.Sort(names) // deterministic choice of the reported field
	out := make(map[int]any, len(names))
	for _, n := range names {
		i, ok := t.schema.lookup(n)
		if !ok {
			return nil, &apiError{status: 400, code: "INVALID_FIELD", fields: []string{n},
				message: fmt.Sprintf("No such column '%s' on sobject of type %s", n, t.schema.name)}
		}
		f := t.schema.fields[i]
		if i == idxID || (api && f.system) {
			return nil, &apiError{status: 400, code: "INVALID_FIELD_FOR_INSERT_UPDATE", fields: []string{f.name},
				message: fmt.Sprintf("Unable to create/update fields: %s. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", f.name)}
		}
		v, err := coerce(f, fields[n])
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// insert adds a row; the platform fields default to now unless vals sets
// them (test seeding of history).
func (t *table) insert(vals map[int]any, now time.Time) *record {
	t.seq++
	r := &record{vals: make([]any, len(t.schema.fields))}
	for i, f := range t.schema.fields {
		if f.typ == FieldBool {
			r.vals[i] = false
		}
	}
	r.vals[idxID] = newID(t.schema.prefix, t.seq)
	r.vals[idxCreatedDate] = now
	r.vals[idxLastModifiedDate] = now
	r.vals[idxSystemModstamp] = now
	t.set(r, vals)
	t.rows = append(t.rows, r)
	t.byID[r.id()] = r
	if !r.deleted() {
		t.live++
		t.wrote(nil, r)
	}
	return r
}

// update applies vals and bumps the modification stamps, as every write in
// Salesforce does.
func (t *table) update(r *record, vals map[int]any, now time.Time) {
	var old []any
	if len(t.onWrite) > 0 {
		old = slices.Clone(r.vals)
	}
	r.vals[idxLastModifiedDate] = now
	r.vals[idxSystemModstamp] = now
	wasDeleted := r.deleted()
	t.set(r, vals)
	switch {
	case wasDeleted && !r.deleted():
		t.live++
	case !wasDeleted && r.deleted():
		t.live--
	}
	if !r.deleted() {
		t.wrote(old, r)
	}
}

// wrote tells the watchers about a write; a delete is not one (workflow
// rules do not fire on delete). old is nil for an insert.
func (t *table) wrote(old []any, r *record) {
	for _, f := range t.onWrite {
		f(old, r)
	}
}

func (t *table) softDelete(r *record, now time.Time) {
	t.update(r, map[int]any{idxIsDeleted: true}, now)
}

func (t *table) set(r *record, vals map[int]any) {
	for i, v := range vals {
		if idx, ok := t.ext[i]; ok {
			if old, ok := r.vals[i].(string); ok {
				k := strings.ToLower(old)
				idx[k] = slices.DeleteFunc(idx[k], func(x *record) bool { return x == r })
				if len(idx[k]) == 0 {
					delete(idx, k)
				}
			}
			if s, ok := v.(string); ok {
				idx[strings.ToLower(s)] = append(idx[strings.ToLower(s)], r)
			}
		}
		r.vals[i] = v
	}
}

// byExternal returns the live rows whose External ID field idx equals value.
func (t *table) byExternal(idx int, value string) []*record {
	var out []*record
	for _, r := range t.ext[idx][strings.ToLower(value)] {
		if !r.deleted() {
			out = append(out, r)
		}
	}
	return out
}

// find looks a row up by id as the REST API would, returning the error to
// report: MALFORMED_ID for an id of another object or shape, NOT_FOUND for
// an unknown one, ENTITY_IS_DELETED for a deleted one.
func (t *table) find(id string) (*record, *apiError) {
	if len(id) != 15 && len(id) != 18 || !strings.HasPrefix(id, t.schema.prefix) {
		return nil, &apiError{status: 400, code: "MALFORMED_ID", fields: []string{"Id"},
			message: fmt.Sprintf("%s ID: id value of incorrect type: %s", t.schema.name, id)}
	}
	if len(id) == 15 {
		id += idSuffix(id)
	}
	r, ok := t.byID[id]
	switch {
	case !ok:
		return nil, errNotFound
	case r.deleted():
		return nil, errEntityDeleted
	}
	return r, nil
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// newID builds an 18-character id: the 3-character key prefix, a fake pod
// "RO", a base62 sequence number and the case-safe checksum suffix. Base62
// digits sort in ASCII order, so ids sort in creation order.
func newID(prefix string, seq int64) string {
	var digits [10]byte
	for i := len(digits) - 1; i >= 0; i-- {
		digits[i] = base62[seq%62]
		seq /= 62
	}
	id15 := prefix + "RO" + string(digits[:])
	return id15 + idSuffix(id15)
}

// idSuffix computes the 3-character suffix that turns a case-sensitive
// 15-character id into the case-insensitive 18-character form: one bit per
// upper-case letter in each 5-character chunk.
func idSuffix(id15 string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	var out [3]byte
	for chunk := range 3 {
		flags := 0
		for j := range 5 {
			if c := id15[chunk*5+j]; c >= 'A' && c <= 'Z' {
				flags |= 1 << j
			}
		}
		out[chunk] = alphabet[flags]
	}
	return string(out[:])
}
