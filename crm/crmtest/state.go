package crmtest

import (
	"fmt"
	"strings"
)

// The Go API below seeds and inspects the org directly, bypassing HTTP,
// auth, limits and faults. Misuse (an unknown sObject, field or id, or a
// value of the wrong type) is a bug in the test or seed and panics.

// Insert creates a record and returns its 18-character id, whose key
// prefix names the object (001 Account, a0X Invoice__c, a0Y Payment__c).
// CreatedDate, LastModifiedDate and SystemModstamp default to the clock and
// IsDeleted to false; unlike API writes, fields may set them (to seed
// history). Values: string; bool; string, int or int64 for decimals;
// time.Time or a REST-form string for dates and dateTimes.
func (s *Server) Insert(sobject string, fields map[string]any) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mustTable(sobject)
	return t.insert(mustConvert(t, fields), s.now()).id()
}

// Update changes fields as a user edit would, bumping LastModifiedDate and
// SystemModstamp (unless fields sets them).
func (s *Server) Update(sobject, id string, fields map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mustTable(sobject)
	r := mustRecord(t, id)
	t.update(r, mustConvert(t, fields), s.now())
}

// Delete soft-deletes a record: IsDeleted becomes true and SystemModstamp
// moves on. It drops out of query results and stays visible to queryAll.
func (s *Server) Delete(sobject, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.mustTable(sobject)
	t.softDelete(mustRecord(t, id), s.now())
}

// Get returns a copy of every field of a record, deleted or not, keyed by
// API name: nil for null, string for text, ids, dates and decimals (exact,
// e.g. "125.5"), bool, and time.Time (UTC) for dateTimes.
func (s *Server) Get(sobject, id string) (map[string]any, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.table(sobject)
	if !ok {
		return nil, false
	}
	r, ok := t.byID[id]
	if !ok {
		return nil, false
	}
	out := make(map[string]any, len(r.vals))
	for i, f := range t.schema.fields {
		out[f.name] = r.vals[i]
	}
	return out, true
}

// GetByExternalID is Get for the live record whose External ID field
// holds value (matched case-insensitively, as Salesforce does); false when
// there is none or the field is not an External ID.
func (s *Server) GetByExternalID(sobject, field, value string) (map[string]any, bool) {
	s.mu.RLock()
	t, ok := s.table(sobject)
	var id string
	if ok {
		if i, ok := t.schema.lookup(field); ok {
			for _, r := range t.ext[i][strings.ToLower(value)] {
				if !r.deleted() {
					id = r.id()
				}
			}
		}
	}
	s.mu.RUnlock()
	if id == "" {
		return nil, false
	}
	return s.Get(sobject, id)
}

// Count is the number of records of sobject that are not deleted.
func (s *Server) Count(sobject string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.table(sobject)
	if !ok {
		return 0
	}
	return t.live
}

func (s *Server) mustTable(sobject string) *table {
	t, ok := s.table(sobject)
	if !ok {
		panic(fmt.Sprintf("crmtest: unknown sObject %q", sobject))
	}
	return t
}

func mustRecord(t *table, id string) *record {
	r, ok := t.byID[id]
	if !ok {
		panic(fmt.Sprintf("crmtest: no %s with id %q", t.schema.name, id))
	}
	return r
}

func mustConvert(t *table, fields map[string]any) map[int]any {
	vals, err := t.convert(fields, false)
	if err != nil {
		panic(fmt.Sprintf("crmtest: %s: %v", t.schema.name, err))
	}
	return vals
}
