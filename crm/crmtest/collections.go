package crmtest

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// maxCollection is the sObject Collections record limit per call.
const maxCollection = 200

var errRolledBack = &apiError{code: "ALL_OR_NONE_OPERATION_ROLLED_BACK",
	message: "Record rolled back because not all records were valid and the request was using AllOrNone header"}

// handleCollection serves /composite/sobjects: POST creates, PATCH updates
// (or upserts by extField when obj is set), DELETE deletes ?ids=. A
// well-formed request is always 200 with one result per record in order;
// item errors carry statusCode. With allOrNone nothing is applied when any
// item fails, and the other items report ALL_OR_NONE_OPERATION_ROLLED_BACK.
func (s *Server) handleCollection(c *call, obj, extField string) {
	var body struct {
		AllOrNone bool             `json:"allOrNone"`
		Records   []map[string]any `json:"records"`
	}
	var ids []string
	n := 0
	if c.r.Method == http.MethodDelete {
		q := c.r.URL.Query()
		for id := range strings.SplitSeq(q.Get("ids"), ",") {
			if id = strings.TrimSpace(id); id != "" {
				ids = append(ids, id)
			}
		}
		body.AllOrNone, _ = strconv.ParseBool(q.Get("allOrNone"))
		n = len(ids)
	} else {
		if err := decodeObject(c, &body); err != nil {
			writeAPIError(c.w, err)
			return
		}
		n = len(body.Records)
	}
	if n > maxCollection {
		writeAPIError(c.w, &apiError{status: 400, code: "EXCEEDED_ID_LIMIT",
			message: fmt.Sprintf("record limit reached. cannot submit more than %d records into this call", maxCollection)})
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var upsertTable *table
	extIdx := -1
	if obj != "" {
		t, ok := s.table(obj)
		if !ok {
			writeAPIError(c.w, errNotFound)
			return
		}
		i, ok := t.schema.lookup(extField)
		if !ok || !t.schema.fields[i].external {
			writeAPIError(c.w, &apiError{status: 400, code: "INVALID_FIELD", fields: []string{extField},
				message: fmt.Sprintf("Field name provided, %s is not an External ID or indexed field for %s", extField, t.schema.name)})
			return
		}
		upsertTable, extIdx = t, i
	}

	results := make([]saveResult, n)
	if c.lockRows {
		for i := range results {
			results[i] = failed("", &apiError{code: "UNABLE_TO_LOCK_ROW",
				message: "unable to obtain exclusive access to this record or 1 records"})
		}
		writeJSON(c.w, http.StatusOK, results)
		return
	}
	// Plan every item first, so that allOrNone can refuse the whole call
	// before anything changes.
	ops := make([]func() saveResult, n)
	knownIDs := make([]string, n)
	anyFailed := false
	for i := range n {
		var op func() saveResult
		var err *apiError
		switch {
		case c.r.Method == http.MethodDelete:
			knownIDs[i] = ids[i]
			op, err = s.planDelete(ids[i])
		case c.r.Method == http.MethodPost:
			op, err = s.planCreate(body.Records[i])
		case obj == "":
			knownIDs[i], _ = recordID(body.Records[i])
			op, err = s.planUpdate(body.Records[i])
		default:
			op, err = s.planUpsert(upsertTable, extIdx, body.Records[i])
		}
		if err != nil {
			results[i] = failed("", err)
			anyFailed = true
			continue
		}
		ops[i] = op
	}
	if anyFailed && body.AllOrNone {
		for i, op := range ops {
			if op != nil {
				results[i] = failed(knownIDs[i], errRolledBack)
			}
		}
		writeJSON(c.w, http.StatusOK, results)
		return
	}
	for i, op := range ops {
		if op != nil {
			results[i] = op()
		}
	}
	writeJSON(c.w, http.StatusOK, results)
}

func failed(id string, err *apiError) saveResult {
	return saveResult{ID: id, Success: false, Errors: []itemError{toItemError(err)}}
}

func succeeded(id string) saveResult {
	return saveResult{ID: id, Success: true, Errors: []itemError{}}
}

// itemFind is table.find with the item-level codes Collections use.
func itemFind(t *table, id string) (*record, *apiError) {
	r, err := t.find(id)
	if err == errNotFound {
		return nil, &apiError{code: "INVALID_CROSS_REFERENCE_KEY", message: "invalid cross reference id", fields: []string{"Id"}}
	}
	return r, err
}

// recordTable resolves attributes.type.
func (s *Server) recordTable(rec map[string]any) (*table, *apiError) {
	attrs, _ := rec["attributes"].(map[string]any)
	typ, _ := attrs["type"].(string)
	if typ == "" {
		return nil, &apiError{code: "INVALID_TYPE", message: "Must send a concrete entity type."}
	}
	t, ok := s.table(typ)
	if !ok {
		return nil, &apiError{code: "INVALID_TYPE", message: fmt.Sprintf("sObject type '%s' is not supported.", typ)}
	}
	return t, nil
}

// recordID returns the value of the record's Id key (any case) and that key.
func recordID(rec map[string]any) (string, string) {
	for k, v := range rec {
		if strings.EqualFold(k, "id") {
			id, _ := v.(string)
			return id, k
		}
	}
	return "", ""
}

func (s *Server) planCreate(rec map[string]any) (func() saveResult, *apiError) {
	t, err := s.recordTable(rec)
	if err != nil {
		return nil, err
	}
	vals, err := s.convertAPI(t, rec)
	if err == nil {
		err = t.schema.missingRequired(vals)
	}
	if err != nil {
		return nil, err
	}
	return func() saveResult { return succeeded(t.insert(vals, s.now()).id()) }, nil
}

func (s *Server) planUpdate(rec map[string]any) (func() saveResult, *apiError) {
	t, err := s.recordTable(rec)
	if err != nil {
		return nil, err
	}
	id, key := recordID(rec)
	if id == "" {
		return nil, &apiError{code: "MISSING_ARGUMENT", message: "Id not specified in an update call", fields: []string{"Id"}}
	}
	r, err := itemFind(t, id)
	if err != nil {
		return nil, err
	}
	fields := without(rec, key)
	vals, err := s.convertAPI(t, fields)
	if err != nil {
		return nil, err
	}
	return func() saveResult {
		t.update(r, vals, s.now())
		return succeeded(r.id())
	}, nil
}

func (s *Server) planUpsert(t *table, extIdx int, rec map[string]any) (func() saveResult, *apiError) {
	if _, err := s.recordTable(rec); err != nil {
		return nil, err
	}
	id, key := recordID(rec)
	if id != "" {
		return nil, &apiError{code: "INVALID_FIELD", fields: []string{"Id"},
			message: "Id not allowed in an upsert by external id; send the external id field only"}
	}
	vals, err := s.convertAPI(t, without(rec, key))
	if err != nil {
		return nil, err
	}
	ext, _ := vals[extIdx].(string)
	if ext == "" {
		name := t.schema.fields[extIdx].name
		return nil, &apiError{code: "REQUIRED_FIELD_MISSING", fields: []string{name},
			message: fmt.Sprintf("Required fields are missing: [%s]", name)}
	}
	if m := t.byExternal(extIdx, ext); len(m) > 1 {
		return nil, duplicateExternal(t, extIdx, m)
	} else if len(m) == 0 {
		if err := t.schema.missingRequired(vals); err != nil {
			return nil, err
		}
	}
	return func() saveResult {
		// Look again: an earlier item of the same call may have created it.
		m := t.byExternal(extIdx, ext)
		switch len(m) {
		case 0:
			created := true
			res := succeeded(t.insert(vals, s.now()).id())
			res.Created = &created
			return res
		case 1:
			created := false
			t.update(m[0], vals, s.now())
			res := succeeded(m[0].id())
			res.Created = &created
			return res
		}
		return failed("", duplicateExternal(t, extIdx, m))
	}, nil
}

func duplicateExternal(t *table, extIdx int, m []*record) *apiError {
	ids := make([]string, len(m))
	for i, r := range m {
		ids[i] = r.id()
	}
	name := t.schema.fields[extIdx].name
	return &apiError{code: "DUPLICATE_EXTERNAL_ID", fields: []string{name},
		message: fmt.Sprintf("%s: more than one record found for external id field: [%s]", name, strings.Join(ids, ", "))}
}

func (s *Server) planDelete(id string) (func() saveResult, *apiError) {
	var t *table
	for _, x := range s.tables {
		if strings.HasPrefix(id, x.schema.prefix) {
			t = x
		}
	}
	if t == nil {
		return nil, &apiError{code: "MALFORMED_ID", message: "malformed id " + id, fields: []string{"Id"}}
	}
	r, err := itemFind(t, id)
	if err != nil {
		return nil, err
	}
	return func() saveResult {
		t.softDelete(r, s.now())
		return succeeded(r.id())
	}, nil
}

// without returns rec minus key (and without "attributes").
func without(rec map[string]any, key string) map[string]any {
	out := make(map[string]any, len(rec))
	for k, v := range rec {
		if k != key && k != "attributes" {
			out[k] = v
		}
	}
	return out
}
