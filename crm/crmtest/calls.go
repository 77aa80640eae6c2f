package crmtest

import "sync/atomic"

// Calls counts the requests the emulator has received, by kind. A request
// counts under its kind whatever its outcome (401, 403, injected fault),
// so tests can prove how many HTTP calls a client made (paging, batching,
// retries, re-auth).
type Calls struct {
	Total        int64 // every request, including rejected and faulted ones
	Token        int64 // POST /services/oauth2/token, successful or not
	Limits       int64 // GET …/limits
	Query        int64 // first pages of …/query
	QueryAll     int64 // first pages of …/queryAll
	QueryMore    int64 // later pages (GET of a nextRecordsUrl)
	SObject      int64 // single-record create, read, update, delete
	Upsert       int64 // single-record upsert by external id
	Collections  int64 // …/composite/sobjects calls
	Unauthorized int64 // data calls refused with 401 INVALID_SESSION_ID
	LimitRefused int64 // data calls refused with 403 REQUEST_LIMIT_EXCEEDED
	Faults       int64 // calls answered by an injected fault
	APIUsage     int64 // the api-usage figure reported in Sforce-Limit-Info
}

type counters struct {
	total, token, limits, query, queryAll, queryMore, sobject, upsert,
	collections, unauthorized, limitRefused, faults atomic.Int64
}

// Calls returns a snapshot of the counters. Safe for concurrent use.
func (s *Server) Calls() Calls {
	c := &s.calls
	return Calls{
		Total: c.total.Load(), Token: c.token.Load(), Limits: c.limits.Load(),
		Query: c.query.Load(), QueryAll: c.queryAll.Load(), QueryMore: c.queryMore.Load(),
		SObject: c.sobject.Load(), Upsert: c.upsert.Load(), Collections: c.collections.Load(),
		Unauthorized: c.unauthorized.Load(), LimitRefused: c.limitRefused.Load(),
		Faults: c.faults.Load(), APIUsage: s.usage.Load(),
	}
}
