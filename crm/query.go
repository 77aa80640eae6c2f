package crm

import (
	"bytes"
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/stripesync/stripesync"
)

// Query runs a SOQL query and streams its records, fetching each page
// (nextRecordsUrl) only when the caller has consumed the previous one, so
// at most one page is held in memory. Iteration stops at the first error,
// which is yielded with a nil Record. Deleted records are not returned.
func (c *Client) Query(ctx context.Context, soql string) iter.Seq2[Record, error] {
	return c.query(ctx, "query", soql)
}

// QueryAll is Query including deleted and archived records (IsDeleted =
// true), which is how the daemon notices deletions.
func (c *Client) QueryAll(ctx context.Context, soql string) iter.Seq2[Record, error] {
	return c.query(ctx, "queryAll", soql)
}

// page is one batch of a query result.
type page struct {
	TotalSize      int      `json:"totalSize"`
	Done           bool     `json:"done"`
	NextRecordsURL string   `json:"nextRecordsUrl"`
	Records        []Record `json:"records"`
}

func (c *Client) query(ctx context.Context, resource, soql string) iter.Seq2[Record, error] {
	return func(yield func(Record, error) bool) {
		var header http.Header
		if c.cfg.PageSize > 0 {
			header = http.Header{"Sforce-Query-Options": {"batchSize=" + strconv.Itoa(c.cfg.PageSize)}}
		}
		op := resource + " " + queryObject(soql)
		path := c.dataPath(resource) + "?" + url.Values{"q": {soql}}.Encode()
		for {
			p, err := c.fetchPage(ctx, op, path, header)
			if err != nil {
				yield(nil, err)
				return
			}
			for i, r := range p.Records {
				p.Records[i] = nil // let the consumer's copy be the only one
				if !yield(r, nil) {
					return
				}
			}
			if p.Done {
				return
			}
			if !strings.HasPrefix(p.NextRecordsURL, "/services/data/") {
				yield(nil, stripesync.Errorf(stripesync.EINTERNAL,
					"salesforce %s: page not done but nextRecordsUrl is %q", op, p.NextRecordsURL))
				return
			}
			path = p.NextRecordsURL
		}
	}
}

func (c *Client) fetchPage(ctx context.Context, op, path string, header http.Header) (*page, error) {
	resp, err := c.do(ctx, op, http.MethodGet, path, nil, header)
	if err != nil {
		return nil, err
	}
	var p page
	if err := decodeJSON(resp.body, &p); err != nil {
		return nil, stripesync.WrapError(stripesync.EUNAVAILABLE, err, "salesforce %s: malformed page", op)
	}
	for _, r := range p.Records {
		delete(r, "attributes")
	}
	return &p, nil
}

// decodeJSON decodes with json.Number for numbers, so amounts stay exact.
func decodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	return dec.Decode(v)
}

// queryObject extracts the object name after FROM for messages and logs
// ("query Account"); it never echoes the WHERE clause.
func queryObject(soql string) string {
	fields := strings.Fields(soql)
	for i, f := range fields {
		if strings.EqualFold(f, "FROM") && i+1 < len(fields) {
			return fields[i+1]
		}
	}
	return "records"
}
