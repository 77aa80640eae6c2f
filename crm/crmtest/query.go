package crmtest

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// locator is an open query cursor. It keeps the rows matched when the
// query ran (later writes change the values rendered, not the membership),
// like a Salesforce query locator.
type locator struct {
	plan     *plan
	rows     []*record
	pageSize int
	lastUsed time.Time
}

// locatorTTL is how long an unused locator lives (reference §2.2).
const locatorTTL = 15 * time.Minute

func (s *Server) handleQuery(c *call, all bool) {
	soql := c.r.URL.Query().Get("q") // url.ParseQuery turns '+' into a space
	if strings.TrimSpace(soql) == "" {
		writeAPIError(c.w, malformed("A query string has to be specified"))
		return
	}
	q, err := parseSOQL(soql)
	if err != nil {
		writeAPIError(c.w, err)
		return
	}
	s.mu.RLock()
	t, ok := s.tables[strings.ToLower(q.object)]
	if !ok {
		s.mu.RUnlock()
		writeAPIError(c.w, &apiError{status: 400, code: "INVALID_TYPE", message: fmt.Sprintf(
			"sObject type '%s' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.", q.object)})
		return
	}
	p, err := compile(q, t)
	if err != nil {
		s.mu.RUnlock()
		writeAPIError(c.w, err)
		return
	}
	loc := &locator{plan: p, rows: p.run(all), pageSize: s.batchSize(c.r), lastUsed: s.now()}
	var id string
	if len(loc.rows) > loc.pageSize {
		id = s.openLocator(loc)
	}
	body := s.renderPage(c.version, id, loc, 0)
	s.mu.RUnlock()
	writeRawJSON(c.w, http.StatusOK, body)
}

func (s *Server) handleQueryMore(c *call, ref string) {
	id, offStr, _ := strings.Cut(ref, "-")
	off, err := strconv.Atoi(offStr)
	s.locMu.Lock()
	loc, ok := s.locators[id]
	if ok {
		loc.lastUsed = s.now()
	}
	s.locMu.Unlock()
	if !ok || err != nil || off <= 0 || off >= len(loc.rows) {
		writeAPIError(c.w, &apiError{status: 400, code: "INVALID_QUERY_LOCATOR", message: "invalid query locator"})
		return
	}
	s.mu.RLock()
	body := s.renderPage(c.version, id, loc, off)
	s.mu.RUnlock()
	writeRawJSON(c.w, http.StatusOK, body)
}

// openLocator registers loc and drops locators unused for locatorTTL.
func (s *Server) openLocator(loc *locator) string {
	id := "01g" + strings.ToUpper(rand.Text()[:15])
	s.locMu.Lock()
	defer s.locMu.Unlock()
	for k, l := range s.locators {
		if loc.lastUsed.Sub(l.lastUsed) > locatorTTL {
			delete(s.locators, k)
		}
	}
	s.locators[id] = loc
	return id
}

// batchSize honours Sforce-Query-Options: batchSize=N, which Salesforce
// clamps to 200–2000.
func (s *Server) batchSize(r *http.Request) int {
	for opt := range strings.FieldsFuncSeq(r.Header.Get("Sforce-Query-Options"), func(r rune) bool { return r == ',' || r == ';' }) {
		k, v, _ := strings.Cut(strings.TrimSpace(opt), "=")
		if strings.EqualFold(k, "batchSize") {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				return min(max(n, 200), 2000)
			}
		}
	}
	return s.opts.PageSize
}

// renderPage writes one page of a query result starting at off, in the
// key order Salesforce uses. The caller holds s.mu for reading.
func (s *Server) renderPage(version, id string, loc *locator, off int) []byte {
	end := min(off+loc.pageSize, len(loc.rows))
	done := end == len(loc.rows)
	buf := make([]byte, 0, 256*(end-off)+128)
	buf = append(buf, `{"totalSize":`...)
	buf = strconv.AppendInt(buf, int64(len(loc.rows)), 10)
	buf = append(buf, `,"done":`...)
	buf = strconv.AppendBool(buf, done)
	if !done {
		buf = append(buf, `,"nextRecordsUrl":`...)
		buf = appendJSONString(buf, fmt.Sprintf("/services/data/%s/query/%s-%d", version, id, end))
	}
	buf = append(buf, `,"records":[`...)
	for i, r := range loc.rows[off:end] {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = renderRecord(buf, version, loc.plan.t.schema, r, loc.plan.fields)
	}
	return append(buf, "]}"...)
}

// renderRecord writes a record with its "attributes" first and then the
// selected fields in order, null when unset.
func renderRecord(buf []byte, version string, sc *schema, r *record, fields []int) []byte {
	buf = append(buf, `{"attributes":{"type":`...)
	buf = appendJSONString(buf, sc.name)
	buf = append(buf, `,"url":`...)
	buf = appendJSONString(buf, "/services/data/"+version+"/sobjects/"+sc.name+"/"+r.id())
	buf = append(buf, '}')
	for _, i := range fields {
		buf = append(buf, ',')
		buf = appendJSONString(buf, sc.fields[i].name)
		buf = append(buf, ':')
		buf = appendJSONValue(buf, sc.fields[i].typ, r.vals[i])
	}
	return append(buf, '}')
}
