// Package crm is the Salesforce adapter: a small typed REST client that
// implements stripesync.CRM for the sync engine (accounts and invoices
// streamed by SystemModstamp, single reads, account write-back, Payment__c
// upserts, invoice rollups) and offers the building blocks later features
// use (SOQL streaming, record reads, sObject Collections updates and
// upserts, upsert by external id). It also decodes the Outbound Messages
// Salesforce pushes (ParseOutboundMessage) and builds the answers a
// listener sends back (AckResponse, SOAPFault); the HTTP listener itself
// belongs to httpapi.
//
// It exists instead of a third-party library because the daemon needs what
// those lack (docs/reference/salesforce.md §4): a context on every call, typed
// errors translated to *stripesync.Error at this boundary (wrapping
// *APIError for errors.As), streaming pages instead of buffering whole
// results, and re-authentication that stays correct when many goroutines
// hit an expired session at once.
//
// Behaviour in brief:
//   - OAuth client credentials (golang.org/x/oauth2/clientcredentials) or
//     JWT bearer (an RS256 assertion signed here); instance_url from the
//     token response is the base of every data call.
//   - On 401 INVALID_SESSION_ID the session is dropped once per
//     generation, one token request is made however many calls failed, and
//     the call is replayed once; a second 401 is EUNAUTHORIZED.
//   - Network errors, 5xx, HTML error pages and UNABLE_TO_LOCK_ROW are
//     retried a few times with jittered backoff (EUNAVAILABLE after that);
//     REQUEST_LIMIT_EXCEEDED is ELIMIT at once; NOT_FOUND and
//     ENTITY_IS_DELETED are ENOTFOUND; other 4xx are EINVALID.
//   - Sforce-Limit-Info is tracked (Usage) so the engine can stop before
//     the daily allocation runs out.
//   - Object and field names come from a Mapping (DefaultMapping is
//     docs/SPEC.md §6; LoadMapping reads overrides from JSON).
//   - Money never passes through a float: JSON numbers are decoded as
//     json.Number, read with stripesync.ParseMoney (scientific notation
//     expanded as text first) and written back as exact decimals.
//
// cmd/stripesync builds the Client from SALESFORCE_* settings; tests run
// it against crm/crmtest over real HTTP.
package crm
