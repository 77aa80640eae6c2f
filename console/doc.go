// Package console serves the staff console under /staff/: staff sign in
// with their token, find an invoice by number, account name or CRM id, and
// on the invoice's page see its balance, payments and audit trail and take
// a payment while the customer is on the phone: by a saved method, by a new
// card typed into Stripe.js, or from a US bank account verified by
// micro-deposits; they also send the payment link and re-send receipts.
//
// Pages are rendered on the server with html/template. Every action is a
// plain form POST answered with a redirect (post/redirect/get) and works
// without JavaScript, except a new card: its number is typed into Stripe's
// own element (Stripe.js, from STRIPE_JS_URL), which turns it into a pm_ id
// in the browser, so the daemon never receives a card number. Without
// JavaScript that form says so and the others still work.
//
// Signing in trades the token for a session: a random id in a cookie
// (HttpOnly, SameSite=Strict, Secure on https, Path=/staff/) of which the
// ledger keeps only the hash, ending 30 minutes after the last request or
// 12 hours after sign-in, and at once when the staff member's line leaves
// the token file. Every form carries the session's CSRF token; a POST
// without it is refused with 403.
//
// The rules (the no-overpay reservation, verification, the audit trail)
// live in sync.Collection and sync.Engine, reached through the same
// functions as the staff API's (httpapi.PaymentConfig); this package turns
// forms into their calls and their answers into pages.
package console
