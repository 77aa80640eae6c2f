// Package httpapi serves the daemon's HTTP interface. Every route is
// registered in routes.go with a comment naming who calls it:
//
//   - operators and load balancers: GET /healthz (liveness, touches no
//     dependency), GET /readyz (readiness: a ledger write,
//     cached for a second) and GET /metrics (Prometheus);
//   - Stripe: POST /stripe/webhook, whose signature is checked
//     (Stripe-Signature, HMAC-SHA256 with a tolerance) and whose event is
//     stored in the inbox before the 200, so nothing acknowledged is lost
//     (an event of another Stripe account than the daemon's is
//     acknowledged and dropped: WebhookConfig.Account);
//   - Salesforce: POST /salesforce/outbound/{secret} (Outbound Messages,
//     SOAP, answered with the Ack only once the notifications are stored)
//     and POST /v1/triggers (Apex callouts, JSON signed with HMAC-SHA256,
//     202 once stored);
//   - customers: GET /receipts/{token}.pdf (a receipt by signed link) and
//     the pages of package web (/pay/, /portal/, /static/), mounted here;
//   - staff, with a bearer token from the staff token file: payment links
//     (issue, e-mail, revoke) and portal links.
//
// A route whose dependency is not configured is not registered, and what
// no route takes gets the same JSON error body as every other error (404,
// or 405 with Allow for a known path).
//
// Handlers speak the domain error type: [WriteError] maps a
// stripesync.ErrorCode to an HTTP status and a JSON body
// {"error":{"code":…,"message":…}} carrying only the operator-safe message,
// so a cause's details (and any secret in them) never reach a client.
// Only internal errors are logged, as the others are the client's to fix.
// Server.ServeHTTP (middleware.go) logs every request by its route pattern,
// never the raw path (paths carry the Outbound Message secret and link
// tokens), and turns a handler panic into a logged 500 with that body;
// each handler that reads a body bounds it with http.MaxBytesReader.
package httpapi
