package crm

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/stripesync/stripesync"
)

// collectionLimit is the sObject Collections maximum per call.
const collectionLimit = 200

// UpdateRecords updates records of sobject by their "Id" key through
// sObject Collections (PATCH /composite/sobjects, allOrNone false), 200
// per call. perRecord is index-aligned with records: nil when written, else
// the item's error (ENOTFOUND for a deleted record, EINVALID for a
// rejected value, …). Items that fail with UNABLE_TO_LOCK_ROW are resent
// alone, with backoff, up to MaxRetries times. err is set when a whole
// call failed; the records of that call and of the calls not made get err
// too.
func (c *Client) UpdateRecords(ctx context.Context, sobject string, records []Record) (perRecord []error, err error) {
	if err := checkNames(sobject); err != nil {
		return fill(len(records), err), err
	}
	return c.writeCollection(ctx, "update "+sobject, c.dataPath("composite/sobjects"), records, func(r Record) (Record, error) {
		id, _ := r.value("Id").(string)
		if id == "" {
			return nil, stripesync.Errorf(stripesync.EINVALID, "salesforce update %s: record has no Id", sobject)
		}
		return withType(r, sobject), nil
	})
}

// UpsertRecords upserts records of sobject keyed by the External ID field
// extField through sObject Collections (PATCH
// /composite/sobjects/{sobject}/{extField}), 200 per call, with the same
// result contract as UpdateRecords. Each record must carry extField and no
// Id.
func (c *Client) UpsertRecords(ctx context.Context, sobject, extField string, records []Record) (perRecord []error, err error) {
	if err := checkNames(sobject, extField); err != nil {
		return fill(len(records), err), err
	}
	return c.writeCollection(ctx, "upsert "+sobject, c.dataPath("composite/sobjects/"+sobject+"/"+extField), records, func(r Record) (Record, error) {
		if v, _ := r.value(extField).(string); v == "" {
			return nil, stripesync.Errorf(stripesync.EINVALID, "salesforce upsert %s: record has no %s", sobject, extField)
		}
		if id, _ := r.value("Id").(string); id != "" {
			return nil, stripesync.Errorf(stripesync.EINVALID, "salesforce upsert %s: record must not set Id", sobject)
		}
		out := withType(r, sobject)
		for k := range out {
			if strings.EqualFold(k, "Id") {
				delete(out, k)
			}
		}
		return out, nil
	})
}

// withType copies r for sending, with attributes.type set as Collections
// requires.
func withType(r Record, sobject string) Record {
	out := make(Record, len(r)+1)
	for k, v := range r {
		out[k] = writeValue(v)
	}
	out["attributes"] = map[string]string{"type": sobject}
	return out
}

func fill(n int, err error) []error {
	out := make([]error, n)
	for i := range out {
		out[i] = err
	}
	return out
}

// saveResult is one item of a Collections response.
type saveResult struct {
	ID      string `json:"id"`
	Success bool   `json:"success"`
	Errors  []struct {
		StatusCode string   `json:"statusCode"`
		Message    string   `json:"message"`
		Fields     []string `json:"fields"`
	} `json:"errors"`
}

func (r saveResult) err(op string) error {
	if len(r.Errors) == 0 {
		return stripesync.Errorf(stripesync.EINTERNAL, "salesforce %s: item failed without an error", op)
	}
	e := r.Errors[0]
	return domainError(op, &APIError{Status: http.StatusOK, Code: e.StatusCode, Message: e.Message, Fields: e.Fields})
}

// writeCollection prepares each record, then sends the valid ones in calls
// of at most collectionLimit.
func (c *Client) writeCollection(ctx context.Context, op, path string, records []Record, prepare func(Record) (Record, error)) ([]error, error) {
	perRecord := make([]error, len(records))
	var idx []int
	var bodies []Record
	for i, r := range records {
		b, err := prepare(r)
		if err != nil {
			perRecord[i] = err
			continue
		}
		idx = append(idx, i)
		bodies = append(bodies, b)
	}
	for start := 0; start < len(idx); start += collectionLimit {
		end := min(start+collectionLimit, len(idx))
		if err := c.sendCollection(ctx, op, path, idx[start:end], bodies[start:end], perRecord); err != nil {
			for _, i := range idx[end:] {
				perRecord[i] = err
			}
			return perRecord, err
		}
	}
	return perRecord, nil
}

// sendCollection writes one chunk, resending the items that hit
// UNABLE_TO_LOCK_ROW. When a call fails as a whole it returns the error
// and sets it on the chunk's records that have no result yet.
func (c *Client) sendCollection(ctx context.Context, op, path string, idx []int, bodies []Record, perRecord []error) error {
	pending := make([]int, len(bodies)) // positions in idx/bodies
	for i := range pending {
		pending[i] = i
	}
	for attempt := 0; ; attempt++ {
		recs := make([]Record, len(pending))
		for k, p := range pending {
			recs[k] = bodies[p]
		}
		data, err := json.Marshal(map[string]any{"allOrNone": false, "records": recs})
		if err == nil {
			var resp *response
			resp, err = c.do(ctx, op, http.MethodPatch, path, data, nil)
			if err == nil {
				err = applyResults(op, resp.body, pending, idx, perRecord)
			}
		}
		if err != nil {
			for _, p := range pending {
				perRecord[idx[p]] = err
			}
			return err
		}
		var locked []int
		for _, p := range pending {
			if stripesync.CodeOf(perRecord[idx[p]]) == stripesync.EUNAVAILABLE {
				locked = append(locked, p)
			}
		}
		if len(locked) == 0 || attempt >= c.cfg.MaxRetries {
			return nil
		}
		// Keep the item errors if the wait is cut short: the call itself
		// succeeded and the next one will report the cancellation.
		if c.backoff(ctx, op, attempt, perRecord[idx[locked[0]]]) != nil {
			return nil
		}
		pending = locked
	}
}

// applyResults stores the per-item outcome of one Collections response.
func applyResults(op string, body []byte, pending, idx []int, perRecord []error) error {
	var results []saveResult
	if err := json.Unmarshal(body, &results); err != nil {
		return stripesync.WrapError(stripesync.EUNAVAILABLE, err, "salesforce %s: malformed result", op)
	}
	if len(results) != len(pending) {
		return stripesync.Errorf(stripesync.EINTERNAL, "salesforce %s: %d results for %d records", op, len(results), len(pending))
	}
	for k, res := range results {
		if res.Success {
			perRecord[idx[pending[k]]] = nil
		} else {
			perRecord[idx[pending[k]]] = res.err(op)
		}
	}
	return nil
}
