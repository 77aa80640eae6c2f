// Package web serves the pages customers see: the pay page of a payment
// link (GET/POST /pay/{token}) and the customer portal (GET
// /portal/{token}).
//
// Pages are rendered on the server with html/template and work without
// JavaScript: every action is a plain form POST answered with a redirect
// (post/redirect/get), so a reload never repeats a payment. Cards and bank
// details are never typed into these pages: new methods are collected by
// Stripe Checkout, saved ones are charged by id. Every form carries a
// one-time nonce bound to the invoice and to the visitor's cookie, which
// both protects against cross-site forgery and keys the reservation and
// the Stripe idempotency key of the payment it starts.
//
// The rules (bounds, reservations, what may be charged) live in
// sync.Collection; this package turns requests into its calls and its
// answers into pages.
package web
