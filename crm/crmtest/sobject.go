package crmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// saveResult is the body of a create or upsert and the item of a
// Collections result. Created is set for upserts only.
type saveResult struct {
	ID      string      `json:"id,omitempty"`
	Success bool        `json:"success"`
	Errors  []itemError `json:"errors"`
	Created *bool       `json:"created,omitempty"`
}

func (s *Server) table(name string) (*table, bool) {
	t, ok := s.tables[strings.ToLower(name)]
	return t, ok
}

// decodeObject reads a JSON object body; numbers stay exact (json.Number).
func decodeObject(c *call, v any) *apiError {
	dec := json.NewDecoder(http.MaxBytesReader(c.w, c.r.Body, 32<<20))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return &apiError{status: 400, code: "JSON_PARSER_ERROR", message: "The request body is not valid JSON: " + err.Error()}
	}
	return nil
}

// handleCreate serves POST /sobjects/{O}: 201 with a SaveResult.
func (s *Server) handleCreate(c *call, obj string) {
	var body map[string]any
	if err := decodeObject(c, &body); err != nil {
		writeAPIError(c.w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.table(obj)
	if !ok {
		writeAPIError(c.w, errNotFound)
		return
	}
	vals, err := s.convertAPI(t, body)
	if err == nil {
		err = t.schema.missingRequired(vals)
	}
	if err != nil {
		writeAPIError(c.w, err)
		return
	}
	r := t.insert(vals, s.now())
	writeJSON(c.w, http.StatusCreated, saveResult{ID: r.id(), Success: true, Errors: []itemError{}})
}

// handleRecord serves GET (with optional ?fields=A,B), PATCH (204) and
// DELETE (204) of /sobjects/{O}/{id}.
func (s *Server) handleRecord(c *call, obj, id string) {
	var body map[string]any
	if c.r.Method == http.MethodPatch {
		if err := decodeObject(c, &body); err != nil {
			writeAPIError(c.w, err)
			return
		}
	}
	if c.r.Method == http.MethodGet {
		s.mu.RLock()
		defer s.mu.RUnlock()
	} else {
		s.mu.Lock()
		defer s.mu.Unlock()
	}
	t, ok := s.table(obj)
	if !ok {
		writeAPIError(c.w, errNotFound)
		return
	}
	r, err := t.find(id)
	if err != nil {
		writeAPIError(c.w, err)
		return
	}
	switch c.r.Method {
	case http.MethodGet:
		var fields []int
		if list := c.r.URL.Query().Get("fields"); list != "" {
			for name := range strings.SplitSeq(list, ",") {
				i, ok := t.schema.lookup(strings.TrimSpace(name))
				if !ok {
					writeAPIError(c.w, noSuchColumn(t.schema.name, name))
					return
				}
				fields = append(fields, i)
			}
		} else {
			for i := range t.schema.fields {
				fields = append(fields, i)
			}
		}
		writeRawJSON(c.w, http.StatusOK, renderRecord(nil, c.version, t.schema, r, fields))
	case http.MethodPatch:
		vals, err := s.convertAPI(t, body)
		if err != nil {
			writeAPIError(c.w, err)
			return
		}
		t.update(r, vals, s.now())
		c.w.WriteHeader(http.StatusNoContent)
	case http.MethodDelete:
		t.softDelete(r, s.now())
		c.w.WriteHeader(http.StatusNoContent)
	}
}

// handleUpsert serves PATCH /sobjects/{O}/{ExtField}/{value}: 201 created,
// 200 {"created":false} (204 before API v46), 300 with the matching record
// URLs, 404 when the field is not an External ID.
func (s *Server) handleUpsert(c *call, obj, extField, value string) {
	var body map[string]any
	if err := decodeObject(c, &body); err != nil {
		writeAPIError(c.w, err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.table(obj)
	if !ok {
		writeAPIError(c.w, errNotFound)
		return
	}
	idx, ok := t.schema.lookup(extField)
	if !ok || !t.schema.fields[idx].external {
		writeAPIError(c.w, errNotFound)
		return
	}
	vals, err := s.convertAPI(t, body)
	if err != nil {
		writeAPIError(c.w, err)
		return
	}
	if v, set := vals[idx]; set && v != value {
		writeAPIError(c.w, &apiError{status: 400, code: "INVALID_FIELD", fields: []string{extField},
			message: fmt.Sprintf("The external id value in the body does not match the URL: %s", extField)})
		return
	}
	vals[idx] = value
	matches := t.byExternal(idx, value)
	switch len(matches) {
	case 0:
		if err := t.schema.missingRequired(vals); err != nil {
			writeAPIError(c.w, err)
			return
		}
		r := t.insert(vals, s.now())
		created := true
		writeJSON(c.w, http.StatusCreated, saveResult{ID: r.id(), Success: true, Errors: []itemError{}, Created: &created})
	case 1:
		t.update(matches[0], vals, s.now())
		if apiMajor(c.version) < 46 {
			c.w.WriteHeader(http.StatusNoContent)
			return
		}
		created := false
		writeJSON(c.w, http.StatusOK, saveResult{ID: matches[0].id(), Success: true, Errors: []itemError{}, Created: &created})
	default:
		urls := make([]string, len(matches))
		for i, r := range matches {
			urls[i] = "/services/data/" + c.version + "/sobjects/" + t.schema.name + "/" + r.id()
		}
		writeJSON(c.w, http.StatusMultipleChoices, urls)
	}
}

// apiMajor is 62 for "v62.0".
func apiMajor(version string) int {
	major, _, _ := strings.Cut(strings.TrimPrefix(version, "v"), ".")
	n, _ := strconv.Atoi(major)
	return n
}
