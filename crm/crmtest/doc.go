// Package crmtest is a stateful Salesforce emulator served over real HTTP.
// The crm adapter's tests, the sync engine's tests, the end-to-end test and
// the `stripesync emulate` / `stripesync demo` commands all talk to it
// instead of a real org, so it follows the wire contract of
// docs/reference/salesforce.md §2 and §4.6 closely:
//
//   - POST /services/oauth2/token for client credentials (form or HTTP
//     Basic) and JWT bearer (RS256, iss/sub/aud/exp checked); errors are
//     400 {"error","error_description"}; no expires_in.
//   - Data calls under /services/data/vNN.N/ need a Bearer token; an
//     unknown or expired one gets 401 [{"errorCode":"INVALID_SESSION_ID"}].
//   - SOQL query and queryAll (a subset: field list, WHERE with AND/OR/NOT,
//     = != < <= > >= IN LIKE, typed literals, ORDER BY, LIMIT), paged with
//     nextRecordsUrl locators that snapshot the matched rows.
//   - sObject create/read/update/delete, upsert by External ID, and sObject
//     Collections (≤ 200 records, allOrNone, per-item statusCode errors).
//   - GET …/limits and Sforce-Limit-Info: api-usage=N/M on every response
//     but GET /services/data/; at the limit, 403 REQUEST_LIMIT_EXCEEDED.
//   - Faults on demand (HTML 503, UNABLE_TO_LOCK_ROW, session expiry,
//     request limit, a response lost after the write), latency, and call
//     counters for assertions.
//   - Lookups are checked on API writes (MALFORMED_ID,
//     FIELD_INTEGRITY_EXCEPTION, INVALID_CROSS_REFERENCE_KEY,
//     ENTITY_IS_DELETED); Go-side seeds are not.
//   - Outbound Messages (AddOutbound, reference §1): the SOAP envelope of
//     §1.6 POSTed to a listener, batched up to 100 notifications, retried
//     with backoff until acknowledged with <Ack>true</Ack>, optionally
//     duplicated, reordered and fired by every write that meets a
//     workflow rule's criteria formula (ISNEW, ISCHANGED, PRIORVALUE, …),
//     each attempt carrying the record as it is when sent.
//
// The org knows Account, Invoice__c and Payment__c with the fields of
// docs/SPEC.md §6 plus the standard ones (Id, Name, IsDeleted, CreatedDate,
// LastModifiedDate, SystemModstamp, CurrencyIsoCode); writes naming any
// other field fail with INVALID_FIELD, as in Salesforce. Options.ExtraFields
// adds fields or objects. Deletes are soft. State lives in memory, about a
// few hundred bytes per record, so a 100,000-account seed is fine.
//
// This package is for tests and deliberate emulator runs only; production
// code paths never import it.
package crmtest
