package crm

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/stripesync/stripesync"
)

// Get reads one record. fields limits the fields returned (nil = all).
// A missing or deleted record is ENOTFOUND.
func (c *Client) Get(ctx context.Context, sobject, id string, fields []string) (Record, error) {
	if err := checkNames(append([]string{sobject}, fields...)...); err != nil {
		return nil, err
	}
	if id == "" || !validName("x"+id) {
		return nil, stripesync.Errorf(stripesync.EINVALID, "salesforce get %s: malformed id %q", sobject, id)
	}
	path := c.dataPath("sobjects/" + sobject + "/" + id)
	if len(fields) > 0 {
		path += "?" + url.Values{"fields": {strings.Join(fields, ",")}}.Encode()
	}
	op := "get " + sobject
	resp, err := c.do(ctx, op, http.MethodGet, path, nil, nil)
	if err != nil {
		return nil, err
	}
	var r Record
	if err := decodeJSON(resp.body, &r); err != nil {
		return nil, stripesync.WrapError(stripesync.EUNAVAILABLE, err, "salesforce %s: malformed record", op)
	}
	delete(r, "attributes")
	return r, nil
}

// Upsert creates or updates the one record of sobject whose External ID
// field extField equals value, and reports whether it was created. More
// than one match is ECONFLICT; a field that is not an External ID is
// ENOTFOUND. fields must not hold Id; the external id, if present, is
// dropped (it travels in the URL).
func (c *Client) Upsert(ctx context.Context, sobject, extField, value string, fields Record) (created bool, err error) {
	if err := checkNames(sobject, extField); err != nil {
		return false, err
	}
	if value == "" {
		return false, stripesync.Errorf(stripesync.EINVALID, "salesforce upsert %s: empty %s", sobject, extField)
	}
	body := make(Record, len(fields))
	for k, v := range fields {
		switch {
		case strings.EqualFold(k, "Id") && v != nil && v != "":
			return false, stripesync.Errorf(stripesync.EINVALID, "salesforce upsert %s: fields must not set Id", sobject)
		case strings.EqualFold(k, extField), strings.EqualFold(k, "Id"), k == "attributes":
		default:
			body[k] = writeValue(v)
		}
	}
	data, err := json.Marshal(body)
	if err != nil {
		return false, stripesync.WrapError(stripesync.EINVALID, err, "salesforce upsert %s: encode fields", sobject)
	}
	op := "upsert " + sobject
	resp, err := c.do(ctx, op, http.MethodPatch, c.dataPath("sobjects/"+sobject+"/"+extField+"/"+url.PathEscape(value)), data, nil)
	if err != nil {
		return false, err
	}
	switch resp.status {
	case http.StatusCreated:
		return true, nil
	case http.StatusNoContent: // API ≤ 45.0 answers an update with 204
		return false, nil
	}
	var res struct {
		Created bool `json:"created"`
	}
	if err := json.Unmarshal(resp.body, &res); err != nil {
		return false, stripesync.WrapError(stripesync.EUNAVAILABLE, err, "salesforce %s: malformed result", op)
	}
	return res.Created, nil
}

// checkNames refuses object and field names that are not API names, so no
// caller input can reshape a URL path or a SOQL statement.
func checkNames(names ...string) error {
	for _, n := range names {
		if !validName(n) {
			return stripesync.Errorf(stripesync.EINVALID, "salesforce: %q is not an API name", n)
		}
	}
	return nil
}
