// Package httpapi serves the daemon's HTTP interface: operator endpoints
// (health, readiness, metrics) today, and the webhook, trigger, staff and
// payment-page routes as they are added. All routes are listed in routes.go.
//
// Handlers speak the domain error type: [WriteError] maps a
// stripesync.ErrorCode to an HTTP status and a JSON body
// {"error":{"code":…,"message":…}} carrying only the operator-safe message,
// so a cause's details (and any secret in them) never reach a client.
// Only internal errors are logged, as the others are the client's to fix.
package httpapi
